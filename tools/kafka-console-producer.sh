#!/bin/sh
# kafka-console-producer.sh: the Kafka tool of this name, served by the moldau CLI.
d=$(dirname "$0")
if [ -x "$d/moldau" ]; then
	exec "$d/moldau" kafka-console-producer "$@"
fi
exec moldau kafka-console-producer "$@"
