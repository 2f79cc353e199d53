#!/bin/sh
# kafka-acls.sh: the Kafka tool of this name, served by the moldau CLI.
d=$(dirname "$0")
if [ -x "$d/moldau" ]; then
	exec "$d/moldau" kafka-acls "$@"
fi
exec moldau kafka-acls "$@"
