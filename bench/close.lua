-- bench/close.lua: wrk script for bench/tls.sh's (na)/(nb): every request says
-- "Connection: close", so the server closes after answering and wrk opens (and handshakes) a
-- new connection for the next one. (wrk -H cannot carry the space through tls.sh's command
-- lines.)
wrk.headers["Connection"] = "close"
