#!/bin/sh
# kafka-metadata-quorum.sh: the Kafka tool of this name, served by the moldau CLI.
d=$(dirname "$0")
if [ -x "$d/moldau" ]; then
	exec "$d/moldau" kafka-metadata-quorum "$@"
fi
exec moldau kafka-metadata-quorum "$@"
