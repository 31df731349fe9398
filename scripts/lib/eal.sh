# EAL memory arguments: hugepages when enough are free, otherwise --no-huge.
sl_eal_mem() {
	local free
	free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
	if [ "${free:-0}" -ge 600 ] && mount | grep -q "type hugetlbfs"; then
		echo "-m 384"
	else
		echo "--no-huge -m 512"
	fi
}
