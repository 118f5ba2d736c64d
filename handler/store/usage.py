"""The chat allowance's window, the same in the limiter, the profile and the docs.

As in the original: a window opens with the user's first chat request after
the previous window ended, and lasts WINDOW. `usage_counters.window_started_at`
is its start (what `profile/full` shows as `rate_limit_reset_at`); the 429's
`reset_at` and `X-RateLimit-Reset` are its end.
"""

from __future__ import annotations

WINDOW = "24 hours"

# Count one request, or return no row when the open window is used up.
CONSUME = f"""
INSERT INTO usage_counters AS u (user_id, window_started_at, request_count)
VALUES ($1, now(), 1)
ON CONFLICT (user_id) DO UPDATE SET
    window_started_at = CASE WHEN u.window_started_at <= now() - interval '{WINDOW}'
                             THEN now() ELSE u.window_started_at END,
    request_count = CASE WHEN u.window_started_at <= now() - interval '{WINDOW}'
                         THEN 1 ELSE u.request_count + 1 END
WHERE u.window_started_at <= now() - interval '{WINDOW}' OR u.request_count < $2
RETURNING request_count, window_started_at + interval '{WINDOW}' AS reset_at
"""

CURRENT = f"""
SELECT request_count, window_started_at + interval '{WINDOW}' AS reset_at
FROM usage_counters WHERE user_id = $1 AND window_started_at > now() - interval '{WINDOW}'
"""
