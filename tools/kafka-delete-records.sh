#!/bin/sh
# kafka-delete-records.sh: the Kafka tool of this name, served by the moldau CLI.
d=$(dirname "$0")
if [ -x "$d/moldau" ]; then
	exec "$d/moldau" kafka-delete-records "$@"
fi
exec moldau kafka-delete-records "$@"
