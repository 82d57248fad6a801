#!/usr/bin/env bash
# Demo convenience: logs a demo person in to the running `labvault serve` of ./run.sh over HTTPS
# and leaves the session cookie in dev/demo/USER.jar and the CSRF token in dev/demo/USER.csrf.
# The first time, it sets up the person's two-factor authentication and keeps the TOTP secret in
# dev/demo/USER.totp (mode 0600) so that later logins can compute codes with oathtool: fine for a
# demo on your own machine, never for a real account (a real person keeps it in an authenticator
# app). The password is the one-time password from dev/data/demo-users.txt.
#   scripts/demo-login.sh demo.provider [https://127.0.0.1:8443]
set -euo pipefail
cd "$(dirname "$0")/.."
user=${1:?usage: scripts/demo-login.sh USERNAME [ORIGIN]}
origin=${2:-https://127.0.0.1:8443}
data=dev/data
out=dev/demo
mkdir -p "$out"
umask 077
password=$(awk -v u="$user" '$1 == u { print $3 }' "$data/demo-users.txt")
[ -n "$password" ] || { echo "demo-login.sh: $user is not in $data/demo-users.txt" >&2; exit 1; }
command -v oathtool >/dev/null || { echo "demo-login.sh: needs oathtool (apt-get install oathtool)" >&2; exit 1; }
curl_() { curl -sS --fail-with-body --cacert "$data/tls/server.crt" -b "$out/$user.jar" -c "$out/$user.jar" "$@"; }
field() { sed -nE "s/.*\"$1\":\"?([^\",}]*)\"?.*/\1/p"; }

code=""
[ -f "$out/$user.totp" ] && code=$(oathtool --totp -b "$(cat "$out/$user.totp")")
rm -f "$out/$user.jar"
answer=$(curl_ -H 'Content-Type: application/json' \
  -d "{\"username\":\"$user\",\"password\":\"$password\",\"code\":\"$code\"}" "$origin/auth/login")
csrf=$(echo "$answer" | field csrf_token)
if [ "$(echo "$answer" | field mfa_enrollment_required)" = "true" ]; then
  secret=$(curl_ -X POST -H "X-CSRF-Token: $csrf" "$origin/auth/mfa/enroll" | field secret)
  echo "$secret" > "$out/$user.totp"
  curl_ -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
    -d "{\"code\":\"$(oathtool --totp -b "$secret")\"}" "$origin/auth/mfa/confirm" > "$out/$user.recovery"
  echo "two-factor set up for $user (secret in $out/$user.totp, recovery codes in $out/$user.recovery)"
fi
echo "$csrf" > "$out/$user.csrf"
echo "logged in as $user: cookie jar $out/$user.jar, CSRF token in $out/$user.csrf (15 minutes idle)"
