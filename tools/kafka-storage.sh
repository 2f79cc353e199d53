#!/bin/sh
# kafka-storage.sh: the Kafka tool of this name, served by the moldau CLI.
d=$(dirname "$0")
if [ -x "$d/moldau" ]; then
	exec "$d/moldau" kafka-storage "$@"
fi
exec moldau kafka-storage "$@"
