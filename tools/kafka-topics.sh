#!/bin/sh
# kafka-topics.sh: the Kafka tool of this name, served by the moldau CLI.
d=$(dirname "$0")
if [ -x "$d/moldau" ]; then
	exec "$d/moldau" kafka-topics "$@"
fi
exec moldau kafka-topics "$@"
