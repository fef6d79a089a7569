#!/usr/bin/env bash
# Creates a SoftHSM2 token of your own for `./kmsgw serve --config hsm-config/softhsm2.yaml`, in softhsm/local/
# (never the system token directory). Prints the export line SoftHSM2 needs. PINs are random and kept in
# softhsm/local/ with mode 0600.
#   softhsm/init-token.sh [label]        default label: kmsgw-local
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
label="${1:-kmsgw-local}"
dir="$here/local"
command -v softhsm2-util >/dev/null || { echo "install SoftHSM2 first: sudo apt-get install softhsm2" >&2; exit 1; }
mkdir -p "$dir/tokens"
chmod 700 "$dir"
conf="$dir/softhsm2.conf"
[ -f "$conf" ] || printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
  "$dir/tokens" > "$conf"
export SOFTHSM2_CONF="$conf"
if softhsm2-util --show-slots 2>/dev/null | grep -q "Label:[[:space:]]*$label\$"; then
  echo "token '$label' already exists in $dir/tokens" >&2
else
  umask 077
  so_pin="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)"
  user_pin="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)"
  printf '%s\n' "$so_pin" > "$dir/so-pin"
  printf '%s\n' "$user_pin" > "$dir/user-pin"
  softhsm2-util --init-token --free --label "$label" --so-pin "$so_pin" --pin "$user_pin" >/dev/null
  echo "created token '$label' in $dir/tokens (PINs in $dir/so-pin and $dir/user-pin)" >&2
fi
echo "export SOFTHSM2_CONF=$conf"
