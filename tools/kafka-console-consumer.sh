#!/bin/sh
# kafka-console-consumer.sh: the Kafka tool of this name, served by the moldau CLI.
d=$(dirname "$0")
if [ -x "$d/moldau" ]; then
	exec "$d/moldau" kafka-console-consumer "$@"
fi
exec moldau kafka-console-consumer "$@"
