// @ts-check
/// <reference lib="dom" />
/**
 * The browser demo of the session lifecycle (served by the local stack, see `demo_server.ts`).
 * Plain JavaScript with JSDoc types, no bundler: log in, use the session on `me` and `notes`, log
 * out, and be denied afterwards. The page runs on another origin than the functions, so every call
 * below is a real cross-origin request.
 *
 * @module
 */

/**
 * What the stack's `/config.json` says.
 * @typedef {object} DemoConfig
 * @property {string} apiUrl the gateway (the project URL)
 * @property {string} functionsUrl `${apiUrl}/functions/v1`
 * @property {string} publishableKey sent as `apikey`, as supabase-js does
 * @property {{ email: string, password: string } | null} demoUser prefilled in the login form
 */

/**
 * The session `login` returns (Supabase Auth's shape).
 * @typedef {object} Session
 * @property {string} access_token
 * @property {string} refresh_token
 * @property {string} token_type
 * @property {number} expires_in
 * @property {number} expires_at
 * @property {{ id: string, email?: string, role?: string }} user
 */

/**
 * One answer as the page could read it; `status` 0 when the browser gave the page no answer.
 * @typedef {object} ApiResult
 * @property {number} status
 * @property {string} statusText
 * @property {string | null} wwwAuthenticate readable because the functions expose it (CORS)
 * @property {unknown} body
 */

/** @type {DemoConfig} */
let config = { apiUrl: '', functionsUrl: '', publishableKey: '', demoUser: null }

/**
 * The seed's client state: the session the app holds, or null. Kept in memory only.
 * @type {Session | null}
 */
let session = null

/**
 * The access token of the session that was signed out, kept only to show that it is refused.
 * @type {string | null}
 */
let signedOutToken = null

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
 * @param {string} id
 * @returns {HTMLInputElement}
 */
function input(id) {
  return /** @type {HTMLInputElement} */ (byId(id))
}

/**
 * @param {string} id
 * @returns {HTMLButtonElement}
 */
function button(id) {
  return /** @type {HTMLButtonElement} */ (byId(id))
}

async function main() {
  try {
    const response = await fetch('/config.json', { cache: 'no-store' })
    config = await response.json()
  } catch (err) {
    byId('origins').textContent = `Cannot load /config.json: ${String(err)}`
    return
  }
  const api = new URL(config.apiUrl).origin
  byId('origins').textContent = `This page: ${location.origin}  ·  API: ${api}  ·  ` +
    'different origins, so every call is a cross-origin request: the browser sends a CORS ' +
    'preflight (OPTIONS) first and lets the page read an answer only when it carries ' +
    'Access-Control-Allow-Origin.'
  if (config.demoUser) {
    input('email').value = config.demoUser.email
    input('password').value = config.demoUser.password
  }

  byId('login-form').addEventListener('submit', (event) => {
    event.preventDefault()
    void logIn()
  })
  button('me').addEventListener('click', () => void callMe('me-result', session?.access_token))
  byId('note-form').addEventListener('submit', (event) => {
    event.preventDefault()
    void addNote()
  })
  button('list-notes').addEventListener('click', () => void listNotes())
  button('logout').addEventListener('click', () => void logOut())
  button('me-old-token').addEventListener(
    'click',
    () => void callMe('denied-result', signedOutToken),
  )
  button('me-no-token').addEventListener('click', () => void callMe('denied-result', null))
  render()
  document.body.dataset.ready = 'true'
}

async function logIn() {
  const result = await run('login-result', 'POST', '/login', {
    body: { email: input('email').value, password: input('password').value },
  })
  if (result.status === 200) {
    session = /** @type {Session} */ (result.body)
    signedOutToken = null
    // The whole body is long (the user object alone has a dozen fields): show what matters.
    byId('login-result').textContent = describe({ ...result, body: summarize(session) })
  }
  render()
}

/**
 * @param {string} target id of the element showing the answer
 * @param {string | null | undefined} token the bearer to send, if any
 */
async function callMe(target, token) {
  const result = await run(target, 'GET', '/me', { token })
  if (target === 'denied-result') showDenial(result)
}

async function addNote() {
  const body = input('note-body').value
  await run('notes-result', 'POST', '/notes', { token: session?.access_token, body: { body } })
}

async function listNotes() {
  const result = await run('notes-result', 'GET', '/notes', { token: session?.access_token })
  const list = byId('notes-list')
  list.replaceChildren()
  if (result.status !== 200) return
  const { notes } = /** @type {{ notes: { body: string, created_at: string }[] }} */ (result.body)
  for (const note of notes) {
    const item = document.createElement('li')
    // textContent, never innerHTML: a note is user input.
    item.textContent = `${note.body}  (${new Date(note.created_at).toLocaleTimeString()})`
    list.append(item)
  }
  if (notes.length === 0) {
    list.append(Object.assign(document.createElement('li'), { textContent: '(no notes)' }))
  }
}

async function logOut() {
  const token = session?.access_token
  const result = await run('logout-result', 'POST', '/logout', { token })
  if (result.status === 204) {
    // What supabase-js signOut() does: the client forgets the session. The token is kept aside
    // only so step 5 can show that the server refuses it now.
    signedOutToken = token ?? null
    session = null
    byId('notes-list').replaceChildren()
  }
  render()
}

/**
 * Calls a function through the gateway and shows the answer in `target`.
 * @param {string} target id of the element showing the answer
 * @param {string} method
 * @param {string} path below `/functions/v1`
 * @param {{ token?: string | null, body?: unknown }} [options]
 * @returns {Promise<ApiResult>}
 */
async function run(target, method, path, options = {}) {
  const element = byId(target)
  element.dataset.status = 'pending'
  element.dataset.outcome = ''
  element.textContent = `${method} ${path} …`
  const result = await callFunction(method, path, options)
  element.textContent = describe(result)
  element.dataset.outcome = result.status >= 200 && result.status < 300 ? 'ok' : 'error'
  element.dataset.status = String(result.status)
  return result
}

/**
 * One cross-origin request, with the headers supabase-js sends.
 * @param {string} method
 * @param {string} path
 * @param {{ token?: string | null, body?: unknown }} options
 * @returns {Promise<ApiResult>}
 */
async function callFunction(method, path, options) {
  /** @type {Record<string, string>} */
  const headers = { apikey: config.publishableKey }
  if (options.token) headers.Authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'
  const label = `${method} /functions/v1${path}`
  try {
    const response = await fetch(`${config.functionsUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    })
    const text = await response.text()
    logRequest(label, String(response.status), response.ok)
    return {
      status: response.status,
      statusText: response.statusText,
      wwwAuthenticate: response.headers.get('WWW-Authenticate'),
      body: text ? parseJson(text) : null,
    }
  } catch (err) {
    // A CORS failure looks exactly like this: the browser hides the answer from the page.
    logRequest(label, 'no readable answer', false)
    return {
      status: 0,
      statusText: 'no readable answer (network error, or blocked by CORS)',
      wwwAuthenticate: null,
      body: String(err),
    }
  }
}

/**
 * @param {string} text
 * @returns {unknown}
 */
function parseJson(text) {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/**
 * @param {ApiResult} result
 * @returns {string}
 */
function describe(result) {
  const lines = [`HTTP ${result.status} ${result.statusText}`.trim()]
  if (result.wwwAuthenticate) lines.push(`WWW-Authenticate: ${result.wwwAuthenticate}`)
  if (result.body !== null) {
    lines.push(
      '',
      typeof result.body === 'string' ? result.body : JSON.stringify(result.body, null, 2),
    )
  }
  return lines.join('\n')
}

/** @param {ApiResult} result */
function showDenial(result) {
  const denial = byId('denial')
  const body = /** @type {{ error?: string, error_description?: string } | null} */ (
    typeof result.body === 'object' ? result.body : null
  )
  denial.hidden = result.status >= 200 && result.status < 300
  byId('denial-status').textContent = `${result.status} ${result.statusText}`.trim()
  byId('denial-error').textContent = body?.error ?? '—'
  byId('denial-description').textContent = body?.error_description ?? '—'
  byId('denial-www-authenticate').textContent = result.wwwAuthenticate ?? '—'
}

/**
 * @param {string} label
 * @param {string} outcome
 * @param {boolean} ok
 */
function logRequest(label, outcome, ok) {
  const item = document.createElement('li')
  item.className = ok ? 'ok' : 'error'
  item.textContent = `${label} → ${outcome}`
  byId('requests').append(item)
}

/** Shows the client state and enables what makes sense in it. */
function render() {
  const state = byId('session')
  state.dataset.state = session ? 'session' : 'none'
  state.textContent = session
    ? JSON.stringify(summarize(session), null, 2)
    : signedOutToken
    ? 'null  (signed out: the session was cleared)'
    : 'null  (not signed in)'
  for (const id of ['me', 'add-note', 'list-notes', 'logout']) button(id).disabled = !session
  button('me-old-token').disabled = !signedOutToken
}

/**
 * The session for display: tokens shortened, the user reduced to a few fields.
 * @param {Session} value
 * @returns {Record<string, unknown>}
 */
function summarize(value) {
  return {
    access_token: shorten(value.access_token),
    token_type: value.token_type,
    expires_in: value.expires_in,
    expires_at: `${value.expires_at} (${new Date(value.expires_at * 1000).toLocaleTimeString()})`,
    refresh_token: shorten(value.refresh_token),
    user: { id: value.user.id, email: value.user.email, role: value.user.role },
  }
}

/**
 * @param {string} token
 * @returns {string}
 */
function shorten(token) {
  return token.length > 24 ? `${token.slice(0, 16)}… (${token.length} chars)` : token
}

void main()
