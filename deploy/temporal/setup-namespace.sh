#!/bin/sh
# One-shot job (temporalio/admin-tools), once the Temporal server is up: creates the namespace and
# registers the project's custom search attributes, each only when missing, so it is safe to run
# on every `docker compose up`. The worker would add missing search attributes itself; doing it
# here means the API and the Web UI can filter by them before any worker has started.
#   TEMPORAL_ADDRESS     host:port of the frontend
#   TEMPORAL_NAMESPACE   the namespace (created with NAMESPACE_RETENTION, default 30d)
#   SEARCH_ATTRIBUTES    space-separated Name=Type pairs, e.g. "ReservationStatus=Keyword ProductId=Keyword"
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}" "${SEARCH_ATTRIBUTES:?}"
RETENTION=${NAMESPACE_RETENTION:-30d}
ATTEMPTS=${SETUP_ATTEMPTS:-60}

# A freshly started server (or a freshly created namespace) needs a few seconds to answer everything.
retry() {
  n=1
  until "$@"; do
    if [ "$n" -ge "$ATTEMPTS" ]; then
      echo "temporal setup: gave up after $n attempts: $*" >&2
      return 1
    fi
    n=$((n + 1))
    sleep 2
  done
}

t() { temporal --address "$TEMPORAL_ADDRESS" "$@"; }

namespace_ready() {
  t operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1 ||
    t operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$RETENTION"
}

search_attribute_ready() {
  if t operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" 2>/dev/null | grep -qw -- "$1"; then
    return 0
  fi
  t operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$1" --type "$2"
}

retry t operator cluster health
retry namespace_ready
echo "temporal setup: namespace $TEMPORAL_NAMESPACE ready"
for pair in $SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  type=${pair#*=}
  retry search_attribute_ready "$name" "$type"
  echo "temporal setup: search attribute $name ($type) ready"
done
