/**
 * The demo user printed in the ready line, created through the auth admin API.
 *
 * @module
 */

/** Credentials of the demo user (local stack only, so a fixed password is fine). */
export const demoUser: Readonly<{ email: string; password: string }> = {
  email: 'demo@example.com',
  password: 'demo-password-123',
}

/**
 * Creates the demo user, confirmed, unless it exists.
 *
 * @param url the gateway URL
 * @param secretKey the secret key (admin API; the gateway sends the auth server its JWT)
 * @throws Error when the auth server refuses for another reason
 */
export async function ensureDemoUser(url: string, secretKey: string): Promise<void> {
  const response = await fetch(`${url}/auth/v1/admin/users`, {
    method: 'POST',
    headers: { apikey: secretKey, 'Content-Type': 'application/json' },
    // Admin-created users need email_confirm: the admin API ignores MAILER_AUTOCONFIRM.
    body: JSON.stringify({ ...demoUser, email_confirm: true }),
  })
  const text = await response.text()
  if (response.ok) return
  if (response.status === 422 && /email_exists|already/.test(text)) return
  throw new Error(`Cannot create the demo user (HTTP ${response.status}): ${text.slice(0, 200)}`)
}
