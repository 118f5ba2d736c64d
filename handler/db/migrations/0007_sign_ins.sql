-- When each user last signed in (the front end's GET /protected after a
-- Firebase sign-in), as the original's users.last_login: the admin
-- dashboard's active users and the super user's search read it.
ALTER TABLE users ADD COLUMN last_login_at timestamptz;
CREATE INDEX users_last_login ON users (last_login_at) WHERE last_login_at IS NOT NULL;
