# The Kubernetes stand-in's credentials for the tests and benchmarks that run it
# (k8s_sync.sh, k8s_cluster.sh, perf/k8s_scale_bench.sh).

# kube_certs DIR SAN: a test CA (DIR/ca.crt, ca.key) and the API server's certificate
# (DIR/server.crt, server.key) for subjectAltName SAN (e.g. IP:127.0.0.1); quiet, 0 on success.
kube_certs() {
	local k=$1
	{
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$k/ca.key" -out "$k/ca.crt" \
			-days 1 -subj /CN=sluice-test-ca -addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign &&
		openssl req -newkey rsa:2048 -nodes -keyout "$k/server.key" -out "$k/server.csr" \
			-subj /CN=kube-apiserver &&
		printf '%s\n' "subjectAltName=$2" 'basicConstraints=CA:FALSE' \
			'keyUsage=critical,digitalSignature,keyEncipherment' \
			'extendedKeyUsage=serverAuth' >"$k/server.ext" &&
		openssl x509 -req -in "$k/server.csr" -CA "$k/ca.crt" -CAkey "$k/ca.key" \
			-CAcreateserial -out "$k/server.crt" -days 1 -extfile "$k/server.ext"
	} 2>/dev/null
}
