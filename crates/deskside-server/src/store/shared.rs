//! The storage rules both backends share, written once. The queries are
//! plain SQL both dialects read alike, with `$N` parameters (SQLite takes
//! them too, bound by number); each backend expands these methods into its
//! `Store` implementation, so only dialect-specific SQL stays per backend.

/// The `Store` methods whose SQL is the same on SQLite and PostgreSQL.
macro_rules! shared_methods {
    () => {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn create_user(
                &self,
                email: &str,
                role: Role,
                password_hash: Option<&str>,
            ) -> StoreResult<User> {
                let row = sqlx::query(
                    "INSERT INTO users (email, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
                     RETURNING id, email, role, password_hash, created_at, deactivated_at",
                )
                .bind(email)
                .bind(role.as_str())
                .bind(password_hash)
                .bind(Utc::now())
                .fetch_one(&self.pool)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!("user {email}"))
                    } else {
                        e.into()
                    }
                })?;
                user(&row)
            }

            async fn software_names(&self, text: &str, exact: bool) -> StoreResult<Vec<String>> {
                let sql = format!(
                    "SELECT name FROM software_names WHERE name {} $1 ESCAPE '\\'",
                    Self::DIALECT.like()
                );
                Ok(sqlx::query_scalar(&sql)
                    .bind(super::name_pattern(text, exact))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn software_versions(&self, name: &str, exact: bool) -> StoreResult<Vec<String>> {
                let sql = format!(
                    "SELECT DISTINCT version FROM software_catalogue WHERE name {} $1 ESCAPE '\\'",
                    Self::DIALECT.like()
                );
                Ok(sqlx::query_scalar(&sql)
                    .bind(super::name_pattern(name, exact))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn create_api_token(
                &self,
                user_id: i64,
                token_hash: &str,
                label: Option<&str>,
            ) -> StoreResult<i64> {
                let row = sqlx::query("INSERT INTO api_tokens (user_id, token_hash, created_at, label) VALUES ($1, $2, $3, $4) RETURNING id")
                    .bind(user_id)
                    .bind(token_hash)
                    .bind(Utc::now())
                    .bind(label)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.try_get("id")?)
            }

            async fn user_by_api_token(&self, token_hash: &str) -> StoreResult<Option<User>> {
                let row = sqlx::query(
                    "SELECT u.id, u.email, u.role, u.password_hash, u.created_at, u.deactivated_at FROM api_tokens t \
                     JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
                     AND u.deactivated_at IS NULL",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(user).transpose()
            }

            async fn create_enroll_secret(
                &self,
                label: Option<&str>,
                secret_hash: &str,
                expires_at: Option<DateTime<Utc>>,
            ) -> StoreResult<EnrollSecret> {
                let row = sqlx::query(&format!(
                    "INSERT INTO enroll_secrets (label, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4) \
                     RETURNING {SECRET_COLUMNS}"
                ))
                .bind(label)
                .bind(secret_hash)
                .bind(Utc::now())
                .bind(expires_at)
                .fetch_one(&self.pool)
                .await?;
                secret(&row)
            }

            async fn list_enroll_secrets(&self) -> StoreResult<Vec<EnrollSecret>> {
                let rows = sqlx::query(&format!(
                    "SELECT {SECRET_COLUMNS} FROM enroll_secrets ORDER BY id DESC"
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(secret).collect()
            }

            async fn revoke_enroll_secret(&self, id: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE enroll_secrets SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                )
                .bind(Utc::now())
                .bind(id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn enroll_secret_by_hash(&self, secret_hash: &str) -> StoreResult<Option<EnrollSecret>> {
                let row = sqlx::query(&format!(
                    "SELECT {SECRET_COLUMNS} FROM enroll_secrets WHERE secret_hash = $1"
                ))
                .bind(secret_hash)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(secret).transpose()
            }

            async fn device_by_token(&self, token_hash: &str) -> StoreResult<Option<Device>> {
                let row = sqlx::query(
                    "SELECT id, device_key, serial_number, hostname, enrolled_at, inventory_hash, \
                     public_key IS NOT NULL AS has_public_key, \
                     (SELECT COALESCE(MAX(version), 0) FROM policies) AS policy_version \
                     FROM devices WHERE token_hash = $1 AND revoked_at IS NULL",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|r| -> StoreResult<Device> {
                    Ok(Device {
                        id: r.try_get("id")?,
                        device_key: r.try_get("device_key")?,
                        serial_number: r.try_get("serial_number")?,
                        hostname: r.try_get("hostname")?,
                        enrolled_at: r.try_get("enrolled_at")?,
                        inventory_hash: r.try_get("inventory_hash")?,
                        policy_version: r.try_get("policy_version")?,
                        has_public_key: r.try_get("has_public_key")?,
                    })
                })
                .transpose()
            }

            async fn current_inventory(&self, device_id: i64) -> StoreResult<Option<(String, String)>> {
                let row = sqlx::query("SELECT inventory_hash, body FROM inventories WHERE device_id = $1")
                    .bind(device_id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| -> StoreResult<(String, String)> {
                    Ok((r.try_get("inventory_hash")?, r.try_get("body")?))
                })
                .transpose()
            }

            async fn check_results(&self, device_id: i64) -> StoreResult<Vec<(String, String, String)>> {
                let rows = sqlx::query("SELECT check_id, state, result FROM check_results WHERE device_id = $1 ORDER BY check_id")
                    .bind(device_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get("check_id")?,
                            r.try_get("state")?,
                            r.try_get("result")?,
                        ))
                    })
                    .collect()
            }

            async fn current_policy(&self) -> StoreResult<Option<(i64, String)>> {
                let row = sqlx::query("SELECT version, body FROM policies ORDER BY version DESC LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|r| -> StoreResult<(i64, String)> {
                    Ok((r.try_get("version")?, r.try_get("body")?))
                })
                .transpose()
            }

            async fn put_policy(
                &self,
                checks: &str,
                by_user: i64,
                expected: Option<i64>,
            ) -> StoreResult<Option<i64>> {
                // Another node may take the same next version at the same moment;
                // the primary key refuses one of them, which then tries again
                // (and, when it expected a version, finds it stale).
                for _ in 0..5 {
                    let result = sqlx::query_scalar(
                        "INSERT INTO policies (version, body, created_at, created_by) \
                         SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3 FROM policies \
                         HAVING $4 < 0 OR COALESCE(MAX(version), 0) = $4 RETURNING version",
                    )
                    .bind(checks)
                    .bind(Utc::now())
                    .bind(by_user)
                    .bind(expected.unwrap_or(-1))
                    .fetch_optional(&self.pool)
                    .await;
                    match result {
                        Ok(v) => return Ok(v),
                        Err(e) if is_unique_violation(&e) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(StoreError::Conflict("policy version".into()))
            }

            async fn device_tickets(&self, device_id: i64) -> StoreResult<Vec<TicketRow>> {
                let rows = sqlx::query(&format!(
                    "SELECT {TICKET_COLUMNS} FROM tickets WHERE device_id = $1 ORDER BY id DESC"
                ))
                .bind(device_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(ticket_row).collect()
            }

            async fn device_ticket(
                &self,
                device_id: i64,
                ticket_id: i64,
            ) -> StoreResult<Option<(TicketRow, Vec<AttachmentRow>)>> {
                let Some(row) = sqlx::query(&format!(
                    "SELECT {TICKET_COLUMNS} FROM tickets WHERE id = $1 AND device_id = $2"
                ))
                .bind(ticket_id)
                .bind(device_id)
                .fetch_optional(&self.pool)
                .await?
                else {
                    return Ok(None);
                };
                let atts = self.ticket_attachments(ticket_id).await?;
                Ok(Some((ticket_row(&row)?, atts)))
            }

            async fn device(&self, id: i64) -> StoreResult<Option<DeviceSummary>> {
                let row = sqlx::query(&format!(
                    "SELECT {DEVICE_COLUMNS} FROM devices WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(device_summary).transpose()
            }

            async fn check_transitions(
                &self,
                device_id: i64,
                limit: u32,
            ) -> StoreResult<Vec<super::TransitionRow>> {
                Ok(sqlx::query_as(
                    "SELECT check_id, from_state, to_state, at FROM check_transitions \
                     WHERE device_id = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(device_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn fleet_overview(
                &self,
                q: &super::FleetQuery,
            ) -> StoreResult<super::FleetOverview> {
                let pairs = |sql: String, since: Option<DateTime<Utc>>| {
                    let pool = self.pool.clone();
                    async move {
                        let query = sqlx::query_as::<_, (String, i64)>(&sql);
                        match since {
                            Some(at) => query.bind(at),
                            None => query,
                        }
                        .fetch_all(&pool)
                        .await
                    }
                };
                // Revoked devices are gone from the fleet.
                let live = "d.revoked_at IS NULL";
                let by_health = pairs(format!(
                    "SELECT COALESCE(health, 'unknown') AS h, COUNT(*) FROM devices d \
                     WHERE {live} GROUP BY COALESCE(health, 'unknown') ORDER BY h"
                ), None)
                .await?;
                let by_agent_version = pairs(format!(
                    "SELECT COALESCE(agent_version, '') AS v, COUNT(*) AS n FROM devices d \
                     WHERE {live} GROUP BY COALESCE(agent_version, '') ORDER BY n DESC, v"
                ), None)
                .await?;
                let failing_checks = pairs(format!(
                    "SELECT c.check_id, COUNT(*) AS n FROM check_results c JOIN devices d ON d.id = c.device_id \
                     WHERE {live} AND c.state IN ('warning', 'critical') \
                     GROUP BY c.check_id ORDER BY n DESC, c.check_id LIMIT 10"
                ), None)
                .await?;
                let ticket_day = Self::DIALECT.utc_day("created_at");
                let tickets_per_day = pairs(format!(
                    "SELECT {ticket_day} AS day, COUNT(*) FROM tickets WHERE created_at >= $1 \
                     GROUP BY {ticket_day} ORDER BY day"
                ), Some(q.since))
                .await?;
                let failure_day = Self::DIALECT.utc_day("at");
                let failures_per_day = pairs(format!(
                    "SELECT {failure_day} AS day, COUNT(*) FROM check_transitions WHERE at >= $1 \
                     AND to_state IN ('warning', 'critical') \
                     AND (from_state IS NULL OR from_state NOT IN ('warning', 'critical')) \
                     GROUP BY {failure_day} ORDER BY day"
                ), Some(q.since))
                .await?;
                let count = |sql: String, at: DateTime<Utc>| {
                    let pool = self.pool.clone();
                    async move { sqlx::query_scalar::<_, i64>(&sql).bind(at).fetch_one(&pool).await }
                };
                let silent = format!("{live} AND (d.last_seen IS NULL OR d.last_seen < $1)");
                let offline = count(format!("SELECT COUNT(*) FROM devices d WHERE {silent}"), q.offline_before).await?;
                let unseen = count(format!("SELECT COUNT(*) FROM devices d WHERE {silent}"), q.unseen_before).await?;
                let unseen_devices = sqlx::query_as(&format!(
                    "SELECT d.id, d.hostname, d.last_seen FROM devices d WHERE {silent} \
                     ORDER BY d.last_seen IS NOT NULL, d.last_seen, d.id LIMIT 20"
                ))
                .bind(q.unseen_before)
                .fetch_all(&self.pool)
                .await?;
                Ok(super::FleetOverview {
                    by_health,
                    offline,
                    unseen,
                    unseen_devices,
                    by_agent_version,
                    failing_checks,
                    tickets_per_day,
                    failures_per_day,
                })
            }

            async fn metric_name_ids(&self, names: &[&str]) -> StoreResult<Vec<i64>> {
                let mut ids = Vec::with_capacity(names.len());
                for name in names {
                    if let Some(id) = self.names.id(name) {
                        ids.push(id);
                        continue;
                    }
                    sqlx::query("INSERT INTO metric_names (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
                        .bind(*name)
                        .execute(&self.pool)
                        .await?;
                    let id: i64 = sqlx::query_scalar("SELECT id FROM metric_names WHERE name = $1")
                        .bind(*name)
                        .fetch_one(&self.pool)
                        .await?;
                    self.names.insert(name, id);
                    ids.push(id);
                }
                Ok(ids)
            }

            async fn metric_names(
                &self,
                ids: &[i64],
            ) -> StoreResult<std::collections::HashMap<i64, String>> {
                let mut out = std::collections::HashMap::new();
                for &id in ids {
                    if let Some(name) = self.names.name(id) {
                        out.insert(id, name);
                        continue;
                    }
                    let name: Option<String> =
                        sqlx::query_scalar("SELECT name FROM metric_names WHERE id = $1")
                            .bind(id)
                            .fetch_optional(&self.pool)
                            .await?;
                    if let Some(name) = name {
                        self.names.insert(&name, id);
                        out.insert(id, name);
                    }
                }
                Ok(out)
            }

            async fn metric_rows(&self, device_id: i64, from: i64, to: i64) -> StoreResult<MetricRows> {
                let raw = sqlx::query_as::<_, (i64, Vec<u8>)>(
                    "SELECT t, v FROM metric_raw WHERE device_id = $1 AND t >= $2 AND t < $3 ORDER BY t",
                )
                .bind(device_id)
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                let rollups = sqlx::query_as::<_, (i64, Vec<u8>)>(
                    "SELECT bucket, v FROM metric_rollup WHERE device_id = $1 AND bucket >= $2 \
                     AND bucket < $3 ORDER BY bucket",
                )
                .bind(device_id)
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                Ok(MetricRows { raw, rollups })
            }

            async fn prune_metric_samples(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                let t = before.timestamp();
                let mut n = 0;
                for sql in [
                    "DELETE FROM metric_raw WHERE t < $1",
                    "DELETE FROM metric_rollup WHERE bucket < $1",
                ] {
                    n += sqlx::query(sql).bind(t).execute(&self.pool).await?.rows_affected();
                }
                Ok(n)
            }

            async fn legacy_metric_samples(
                &self,
                limit: u32,
            ) -> StoreResult<Vec<super::LegacySample>> {
                Ok(sqlx::query_as(
                    "SELECT id, device_id, taken_at, sample FROM metric_samples ORDER BY id LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?)
            }

            async fn list_tickets(&self, f: &TicketFilter) -> StoreResult<Vec<QueueRow>> {
                let sql = super::queue::page_sql(Self::DIALECT, f.sort);
                let q = super::queue::bind_ticket_filter!(sqlx::query(&sql), f);
                let (key, id) = f.after.unwrap_or_default();
                let q = q
                    .bind(f.after.is_some())
                    .bind(key)
                    .bind(id)
                    .bind(i64::from(f.limit))
                    .bind(f.viewer);
                let rows = super::queue::bind_ticket_filter_rest!(q, f)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(|r| Ok(QueueRow::from_row(r)?)).collect()
            }

            async fn count_tickets(&self, f: &TicketFilter) -> StoreResult<i64> {
                let sql = super::queue::count_sql(Self::DIALECT);
                let q = super::queue::bind_ticket_filter!(sqlx::query_scalar(&sql), f);
                let q = super::queue::bind_page_gap!(q);
                Ok(super::queue::bind_ticket_filter_rest!(q, f)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn mark_ticket_seen(
                &self,
                user_id: i64,
                ticket_id: i64,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO ticket_views (user_id, ticket_id, seen_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id, ticket_id) DO UPDATE SET seen_at = excluded.seen_at",
                )
                .bind(user_id)
                .bind(ticket_id)
                .bind(at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn events_after(&self, after_id: i64, limit: u32) -> StoreResult<Vec<EventRow>> {
                let rows = sqlx::query(
                    "SELECT id, kind, ticket_id, actor, at, device_id, detail FROM events WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| Ok(EventRow::from_row(r)?)).collect()
            }

            async fn last_event_id(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM events")
                    .fetch_one(&self.pool)
                    .await?
                    .unwrap_or(0))
            }

            async fn prune_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM events WHERE at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn saved_views(&self, user_id: i64, scope: &str) -> StoreResult<Vec<SavedView>> {
                let rows = sqlx::query(
                    "SELECT id, name, query, created_at FROM saved_views WHERE user_id = $1 AND scope = $2 \
                     ORDER BY name, id",
                )
                .bind(user_id)
                .bind(scope)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| Ok(SavedView::from_row(r)?)).collect()
            }

            async fn save_view(
                &self,
                user_id: i64,
                scope: &str,
                name: &str,
                query: &str,
            ) -> StoreResult<SavedView> {
                let row = sqlx::query(
                    "INSERT INTO saved_views (user_id, scope, name, query, created_at) VALUES ($1, $2, $3, $4, $5) \
                     RETURNING id, name, query, created_at",
                )
                .bind(user_id)
                .bind(scope)
                .bind(name)
                .bind(query)
                .bind(Utc::now())
                .fetch_one(&self.pool)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Conflict(format!("a view named {name}"))
                    } else {
                        e.into()
                    }
                })?;
                Ok(SavedView::from_row(&row)?)
            }

            async fn delete_view(&self, user_id: i64, id: i64) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM saved_views WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn ticket_work(&self, id: i64) -> StoreResult<Option<TicketWork>> {
                let row = sqlx::query(&format!(
                    "SELECT {TICKET_COLUMNS}, {WORK_COLUMNS} FROM tickets WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(ticket_work).transpose()
            }

            async fn comments(
                &self,
                ticket_id: i64,
                include_internal: bool,
            ) -> StoreResult<Vec<CommentRow>> {
                let rows = sqlx::query(
                    "SELECT id, user_id, body, internal, created_at, note FROM ticket_comments \
                     WHERE ticket_id = $1 AND ($2 OR NOT internal) ORDER BY id",
                )
                .bind(ticket_id)
                .bind(include_internal)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| Ok(CommentRow::from_row(r)?)).collect()
            }

            async fn ticket_audit(&self, ticket_id: i64) -> StoreResult<Vec<AuditEntry>> {
                let rows = sqlx::query(
                    "SELECT user_id, action, detail, at FROM ticket_audit WHERE ticket_id = $1 ORDER BY id",
                )
                .bind(ticket_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get("user_id")?,
                            r.try_get("action")?,
                            r.try_get("detail")?,
                            r.try_get("at")?,
                        ))
                    })
                    .collect()
            }

            async fn ticket_attachments(&self, ticket_id: i64) -> StoreResult<Vec<AttachmentRow>> {
                let rows = sqlx::query(
                    "SELECT id, name, content_type, size_bytes, blob_key, diagnostics FROM ticket_attachments \
                     WHERE ticket_id = $1 ORDER BY id",
                )
                .bind(ticket_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(attachment_row).collect()
            }

            async fn attachment(
                &self,
                ticket_id: i64,
                attachment_id: i64,
            ) -> StoreResult<Option<AttachmentRow>> {
                let row = sqlx::query(
                    "SELECT id, name, content_type, size_bytes, blob_key, diagnostics FROM ticket_attachments \
                     WHERE id = $1 AND ticket_id = $2",
                )
                .bind(attachment_id)
                .bind(ticket_id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(attachment_row).transpose()
            }

            async fn rate_ticket(
                &self,
                ticket_id: i64,
                score: i64,
                comment: Option<&str>,
            ) -> StoreResult<bool> {
                let now = Utc::now();
                let done = sqlx::query(
                    "UPDATE tickets SET rating = $1, rating_comment = $2, rated_at = $3, updated_at = $3 \
                     WHERE id = $4 AND status IN ('resolved', 'closed') AND rating IS NULL \
                     AND (rating_opens_at IS NULL OR rating_opens_at <= $3)",
                )
                .bind(i32::try_from(score).unwrap_or(0))
                .bind(comment)
                .bind(now)
                .bind(ticket_id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn reopen_ticket(&self, ticket_id: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE tickets SET status = 'open', updated_at = $1 WHERE id = $2 AND status IN ('resolved', 'closed')",
                )
                .bind(Utc::now())
                .bind(ticket_id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn create_session(
                &self,
                token_hash: &str,
                csrf_hash: &str,
                user_id: i64,
                expires_at: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, csrf_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(token_hash)
                .bind(csrf_hash)
                .bind(user_id)
                .bind(Utc::now())
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session_user(&self, token_hash: &str) -> StoreResult<Option<(User, String)>> {
                let row = sqlx::query(
                    "SELECT u.id, u.email, u.role, u.password_hash, u.created_at, u.deactivated_at, s.csrf_hash, \
                     s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 \
                     AND u.deactivated_at IS NULL",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
                let Some(r) = row else { return Ok(None) };
                let expires: DateTime<Utc> = r.try_get("expires_at")?;
                if expires <= Utc::now() {
                    return Ok(None);
                }
                Ok(Some((user(&r)?, r.try_get("csrf_hash")?)))
            }

            async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn list_api_tokens(&self, user_id: Option<i64>) -> StoreResult<Vec<ApiTokenInfo>> {
                let rows = sqlx::query(
                    "SELECT t.id, t.user_id, u.email, t.label, t.created_at, t.revoked_at FROM api_tokens t \
                     JOIN users u ON u.id = t.user_id WHERE $1 IS NULL OR t.user_id = $1 ORDER BY t.id DESC",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok(ApiTokenInfo::from_row(r)?))
                    .collect()
            }

            async fn set_user_role(&self, user_id: i64, role: Role) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE users SET role = $1 WHERE id = $2 AND deactivated_at IS NULL",
                )
                .bind(role.as_str())
                .bind(user_id)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
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
                let mut n = 0;
                // Check transitions are history too, kept as long.
                for sql in [
                    "DELETE FROM inventory_changes WHERE changed_at < $1",
                    "DELETE FROM check_transitions WHERE at < $1",
                ] {
                    n += sqlx::query(sql).bind(before).execute(&self.pool).await?.rows_affected();
                }
                Ok(n)
            }
    };
}

pub(crate) use shared_methods;
