// @ts-check
/// <reference lib="dom" />
/**
 * The consent page of the local OAuth 2.1 server (`/oauth/consent?authorization_id=…`, the path
 * the auth server redirects the user's browser to). The user signs in with supabase-js (served
 * by the demo site from the pinned package, `/vendor/supabase.js`), sees which application asks
 * for which scopes, and approves or denies; supabase-js then sends the browser back to the
 * application with a code or an `access_denied` error.
 *
 * @module
 */

/**
 * @typedef {object} DemoConfig
 * @property {string} apiUrl the gateway (the project URL)
 * @property {string} publishableKey sent as `apikey`, as supabase-js does
 */

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const element = document.getElementById(id)
  if (!element) throw new Error(`Missing element #${id}`)
  return element
}

/**
 * Shows a line of status; `state` is what a test waits for.
 *
 * @param {string} state `loading`, `sign-in`, `consent`, `redirecting` or `error`
 * @param {string} message
 */
function status(state, message) {
  const element = byId('consent-status')
  element.dataset.state = state
  element.textContent = message
}

async function main() {
  const authorizationId = new URLSearchParams(location.search).get('authorization_id')
  if (!authorizationId) {
    status('error', 'No authorization_id in the address: start from the application.')
    return
  }
  /** @type {DemoConfig} */
  const config = await (await fetch('/config.json')).json()
  const supabase = /** @type {any} */ (globalThis).supabase.createClient(
    config.apiUrl,
    config.publishableKey,
    { auth: { persistSession: true, autoRefreshToken: false, detectSessionInUrl: false } },
  )

  const showRequest = async () => {
    status('loading', 'Loading the request…')
    const { data, error } = await supabase.auth.oauth.getAuthorizationDetails(authorizationId)
    if (error) {
      status('error', `The request cannot be shown: ${error.message}`)
      return
    }
    if (!('authorization_id' in data)) {
      // Consent given before for these scopes: back to the application at once.
      status('redirecting', 'Already approved; returning to the application…')
      location.assign(data.redirect_url)
      return
    }
    byId('consent-client-name').textContent = data.client.name || data.client.id
    byId('consent-user-email').textContent = data.user.email
    byId('consent-redirect-uri').textContent = data.redirect_uri
    const scopes = byId('consent-scopes')
    scopes.replaceChildren(
      ...String(data.scope || '').split(' ').filter(Boolean).map((scope) => {
        const item = document.createElement('li')
        item.textContent = scope
        return item
      }),
    )
    byId('consent-login').hidden = true
    byId('consent-request').hidden = false
    status('consent', 'Waiting for your answer.')
  }

  /** @param {'approve' | 'deny'} decision */
  const answer = async (decision) => {
    for (const id of ['consent-approve', 'consent-deny']) {
      const button = /** @type {HTMLButtonElement} */ (byId(id))
      button.disabled = true
    }
    status('redirecting', 'Returning to the application…')
    const { error } = decision === 'approve'
      ? await supabase.auth.oauth.approveAuthorization(authorizationId)
      : await supabase.auth.oauth.denyAuthorization(authorizationId)
    // On success supabase-js has already sent the browser to the application.
    if (error) status('error', `The answer was not accepted: ${error.message}`)
  }
  byId('consent-approve').addEventListener('click', () => answer('approve'))
  byId('consent-deny').addEventListener('click', () => answer('deny'))

  byId('consent-login-form').addEventListener('submit', async (event) => {
    event.preventDefault()
    const email = /** @type {HTMLInputElement} */ (byId('consent-email')).value
    const password = /** @type {HTMLInputElement} */ (byId('consent-password')).value
    const { error } = await supabase.auth.signInWithPassword({ email, password })
    if (error) {
      status('sign-in', `Sign-in failed: ${error.message}`)
      return
    }
    await showRequest()
  })

  const { data: { session } } = await supabase.auth.getSession()
  if (session) {
    await showRequest()
  } else {
    byId('consent-login').hidden = false
    status('sign-in', 'Sign in to see the request.')
  }
}

main().catch((error) => status('error', `The page failed: ${error.message}`))
