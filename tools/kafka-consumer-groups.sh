#!/bin/sh
# kafka-consumer-groups.sh: the Kafka tool of this name, served by the moldau CLI.
d=$(dirname "$0")
if [ -x "$d/moldau" ]; then
	exec "$d/moldau" kafka-consumer-groups "$@"
fi
exec moldau kafka-consumer-groups "$@"
