-- Sessions of the web pages: their token travels in an HttpOnly cookie instead of an Authorization
-- header, lives while it is used (its expiry moves on with each request) and is never refreshed
-- with a refresh token. A cookie's session is refused as a bearer token and a bearer's as a cookie.
ALTER TABLE sessions ADD COLUMN web INTEGER NOT NULL DEFAULT 0;
