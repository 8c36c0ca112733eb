//! The storage rules both backends share, written once. The queries are
//! plain SQL both dialects read alike, with `$N` parameters (SQLite takes
//! them too, bound by number); each backend expands these methods into its
//! `Store` implementation, so only dialect-specific SQL stays per backend.

/// The `Store` methods whose SQL is the same on SQLite and PostgreSQL.
macro_rules! shared_methods {
    () => {
            async fn list_api_tokens(&self, user_id: Option<i64>) -> StoreResult<Vec<ApiTokenInfo>> {
                let rows = sqlx::query(
                    "SELECT t.id, t.user_id, u.email, t.created_at, t.revoked_at FROM api_tokens t \
                     JOIN users u ON u.id = t.user_id WHERE $1 IS NULL OR t.user_id = $1 ORDER BY t.id DESC",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok(ApiTokenInfo::from_row(r)?))
                    .collect()
            }

            async fn revoke_api_token(&self, id: i64, owner: Option<i64>) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
                     AND ($3 IS NULL OR user_id = $3)",
                )
                .bind(Utc::now())
                .bind(id)
                .bind(owner)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn revoke_api_token_by_hash(&self, token_hash: &str) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
                )
                .bind(Utc::now())
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_users(&self) -> StoreResult<Vec<User>> {
                let rows = sqlx::query(
                    "SELECT id, email, role, password_hash, created_at, deactivated_at FROM users ORDER BY id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(user).collect()
            }

            async fn revoke_device(&self, device_id: i64) -> StoreResult<bool> {
                let done =
                    sqlx::query("UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                        .bind(Utc::now())
                        .bind(device_id)
                        .execute(&self.pool)
                        .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn record_audit(&self, e: &AuditRecord<'_>) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_log (user_id, action, target, detail, at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(e.user_id)
                .bind(e.action)
                .bind(e.target)
                .bind(e.detail)
                .bind(Utc::now())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn audit_log(&self, before_id: i64, limit: u32) -> StoreResult<Vec<AuditLogEntry>> {
                let rows = sqlx::query(
                    "SELECT a.id, a.user_id, u.email, a.action, a.target, a.detail, a.at FROM audit_log a \
                     LEFT JOIN users u ON u.id = a.user_id WHERE $1 = 0 OR a.id < $1 ORDER BY a.id DESC LIMIT $2",
                )
                .bind(before_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok(AuditLogEntry::from_row(r)?))
                    .collect()
            }

            async fn count_login_failure(
                &self,
                email: &str,
                window: chrono::TimeDelta,
            ) -> StoreResult<u32> {
                let now = Utc::now();
                // One statement: concurrent failures on several nodes all count.
                let failures: i32 = sqlx::query_scalar(
                    "INSERT INTO login_failures (email, failures, window_start) VALUES ($1, 1, $2) \
                     ON CONFLICT (email) DO UPDATE SET \
                     failures = CASE WHEN login_failures.window_start < $3 THEN 1 ELSE login_failures.failures + 1 END, \
                     window_start = CASE WHEN login_failures.window_start < $3 THEN $2 ELSE login_failures.window_start END \
                     RETURNING failures",
                )
                .bind(email.to_lowercase())
                .bind(now)
                .bind(now - window)
                .fetch_one(&self.pool)
                .await?;
                Ok(u32::try_from(failures).unwrap_or(0))
            }

            async fn login_failures(&self, email: &str, window: chrono::TimeDelta) -> StoreResult<u32> {
                let failures: Option<i32> = sqlx::query_scalar(
                    "SELECT failures FROM login_failures WHERE email = $1 AND window_start >= $2",
                )
                .bind(email.to_lowercase())
                .bind(Utc::now() - window)
                .fetch_optional(&self.pool)
                .await?;
                Ok(failures.and_then(|f| u32::try_from(f).ok()).unwrap_or(0))
            }

            async fn clear_login_failures(&self, email: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM login_failures WHERE email = $1")
                    .bind(email.to_lowercase())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn register_device_key(&self, device_id: i64, public_key: &str) -> StoreResult<bool> {
                let done =
                    sqlx::query("UPDATE devices SET public_key = $1 WHERE id = $2 AND public_key IS NULL")
                        .bind(public_key)
                        .bind(device_id)
                        .execute(&self.pool)
                        .await;
                match done {
                    Ok(d) => Ok(d.rows_affected() == 1),
                    // Another device has this key.
                    Err(e) if is_unique_violation(&e) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }

            async fn create_enroll_challenge(
                &self,
                challenge_hash: &str,
                expires_at: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query("DELETE FROM enroll_challenges WHERE expires_at < $1")
                    .bind(Utc::now())
                    .execute(&self.pool)
                    .await?;
                sqlx::query("INSERT INTO enroll_challenges (challenge_hash, expires_at) VALUES ($1, $2)")
                    .bind(challenge_hash)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn take_enroll_challenge(&self, challenge_hash: &str) -> StoreResult<bool> {
                // One statement: of two enrollments racing with one challenge on
                // two nodes, one gets it.
                let taken = sqlx::query(
                    "DELETE FROM enroll_challenges WHERE challenge_hash = $1 AND expires_at > $2",
                )
                .bind(challenge_hash)
                .bind(Utc::now())
                .execute(&self.pool)
                .await?;
                Ok(taken.rows_affected() == 1)
            }

            async fn policy_versions(
                &self,
                before: Option<i64>,
                limit: u32,
            ) -> StoreResult<Vec<PolicyVersion>> {
                let rows = sqlx::query(
                    "SELECT p.version, p.body, p.created_at, u.email FROM policies p \
                     LEFT JOIN users u ON u.id = p.created_by \
                     WHERE $1 IS NULL OR p.version < $1 ORDER BY p.version DESC LIMIT $2",
                )
                .bind(before)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok(PolicyVersion::from_row(r)?))
                    .collect()
            }

            async fn inventory_changes(
                &self,
                device_id: i64,
                before_id: i64,
                limit: u32,
            ) -> StoreResult<Vec<(i64, DateTime<Utc>, String)>> {
                let rows = sqlx::query(
                    "SELECT id, changed_at, diff FROM inventory_changes WHERE device_id = $1 \
                     AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3",
                )
                .bind(device_id)
                .bind(before_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get("id")?,
                            r.try_get("changed_at")?,
                            r.try_get("diff")?,
                        ))
                    })
                    .collect()
            }

            async fn prune_inventory_changes(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM inventory_changes WHERE changed_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
    };
}

pub(crate) use shared_methods;
