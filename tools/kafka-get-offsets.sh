#!/bin/sh
# kafka-get-offsets.sh: the Kafka tool of this name, served by the moldau CLI.
d=$(dirname "$0")
if [ -x "$d/moldau" ]; then
	exec "$d/moldau" kafka-get-offsets "$@"
fi
exec moldau kafka-get-offsets "$@"
