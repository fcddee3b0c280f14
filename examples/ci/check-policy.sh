#!/usr/bin/env sh
# Checks the OAuth 2.0 scope policy of an API in CI, with the scopeguard CLI:
#   1. validate: the policy is valid (warnings are shown; STRICT=1 makes them fail);
#   2. coverage: every route of the app has a rule (the app module exports the app and does
#      not call listen());
#   3. diff: the policy against the base branch; a widening change fails unless
#      ALLOW_WIDENING=1 (set it once a reviewer approved the change).
# Every step runs, then the script exits 2 if a step could not run (exit code 2: a file,
# module or git ref missing), else 1 if a check failed, else 0.
#
# Settings (environment):
#   POLICY          the policy file, relative to the repository root (scopeguard.policy.yaml)
#   APP             the built app module (dist/app.js); empty: skip coverage
#   APP_EXPORT      the export holding the app (default: the default export)
#   BASE_REF        the ref to diff against (origin/main); fetch it first in shallow clones
#   ALLOW_WIDENING  1: report widening changes without failing
#   STRICT          1: validation warnings fail too
#   SCOPEGUARD      the command to run (npx --no -- scopeguard)
#   DIFF_MARKDOWN   a file to write the diff to, as markdown for a pull-request comment
set -u

POLICY=${POLICY:-scopeguard.policy.yaml}
APP=${APP-dist/app.js}
APP_EXPORT=${APP_EXPORT:-}
BASE_REF=${BASE_REF:-origin/main}
SCOPEGUARD=${SCOPEGUARD:-npx --no -- scopeguard}

worst=0
# Runs one step and keeps the worst exit code: 2 (could not run) over 1 (failed) over 0.
step() {
  name=$1
  shift
  echo "== $name"
  "$@"
  code=$?
  if [ "$code" -eq 2 ] || { [ "$code" -ne 0 ] && [ "$worst" -eq 0 ]; }; then worst=$code; fi
  [ "$code" -eq 0 ] || echo "-- $name: exit $code"
}

# shellcheck disable=SC2086 # SCOPEGUARD is a command with its arguments
step validate $SCOPEGUARD validate "$POLICY" ${STRICT:+--strict}

if [ -n "$APP" ]; then
  # shellcheck disable=SC2086
  step coverage $SCOPEGUARD coverage --app "$APP" --policy "$POLICY" \
    ${APP_EXPORT:+--export "$APP_EXPORT"}
else
  echo "== coverage: skipped (APP is empty)"
fi

if git cat-file -e "$BASE_REF:./$POLICY" 2>/dev/null; then
  widening=
  [ "${ALLOW_WIDENING:-0}" = 1 ] && widening=--allow-widening
  # shellcheck disable=SC2086
  step "diff against $BASE_REF" $SCOPEGUARD diff "git:$BASE_REF:./$POLICY" "$POLICY" $widening
  if [ -n "${DIFF_MARKDOWN:-}" ]; then
    # shellcheck disable=SC2086
    $SCOPEGUARD diff "git:$BASE_REF:./$POLICY" "$POLICY" --format markdown $widening \
      >"$DIFF_MARKDOWN"
  fi
else
  echo "== diff: skipped ($POLICY is not on $BASE_REF: a new policy, or $BASE_REF not fetched)"
fi

exit "$worst"
