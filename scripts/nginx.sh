#!/bin/sh
# Write the nginx configuration for the local TLS front from
# conf/nginx-site.conf, making a self-signed certificate on first run,
# then run nginx in the foreground (the caller backgrounds it).
#   nginx.sh DIR TLS_PORT UPSTREAM_HOST:PORT
set -eu
. "$(dirname "$0")/env.sh"

dir=$1
port=$2
upstream=$3
tls=$RUN_DIR/tls
mkdir -p "$dir/logs" "$dir/tmp" "$tls"

if [ ! -f "$tls/cert.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 825 \
	    -subj "/CN=localhost" \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	    -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
	chmod 600 "$tls/key.pem"
fi

# The limits the server runs with (src/lib/config.c): JSON bodies, and
# uploads plus the multipart framing the upload handler tolerates
# (DOC_MULTIPART_SLACK in src/doc_upload.c).
json_max=$(( ${JSON_BODY_MAX_KB:-1024} * 1024 ))
upload_bytes=${MAX_UPLOAD_BYTES:-$(( ${MAX_UPLOAD_MB:-20} * 1048576 ))}
upload_max=$(( upload_bytes + 65536 ))

sed -e "s|@UPSTREAM@|$upstream|" -e "s|@TLS_LISTEN@|127.0.0.1:$port|" \
    -e "s|@CERT@|$tls/cert.pem|" -e "s|@KEY@|$tls/key.pem|" \
    -e "s|@JSON_MAX@|$json_max|g" -e "s|@UPLOAD_MAX@|$upload_max|" \
    -e "s|@UPLOAD_BYTES@|$upload_bytes|" \
    -e "s|@PROXY_TIMEOUT@|${NGINX_PROXY_TIMEOUT_S:-300}|g" \
    -e "s|# @PROXY_BIND@|${NGINX_PROXY_BIND:+proxy_bind $NGINX_PROXY_BIND;}|" \
    "$ROOT/conf/nginx-site.conf" > "$dir/site.conf"

cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
daemon off;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/site.conf;
}
CONF

exec nginx -c "$dir/nginx.conf" -p "$dir"
