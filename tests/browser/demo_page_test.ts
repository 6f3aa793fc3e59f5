// The browser demo (supabase/local/demo/) in real headless Chromium: the seed's session lifecycle
// clicked through as a user would, from a page on another origin than the functions, so every
// call is a cross-origin request with a CORS preflight. Screenshots go to .local/screenshots/.
import { assert, assertEquals, assertStringIncludes } from '@std/assert'
import type { Page } from 'npm:playwright-core@1.65.1'
import { startDemoServer } from '../../supabase/local/demo_server.ts'
import { eventually } from '../_helpers/poll.ts'
import { createTestUser, hasAuthServer, testStack } from '../_helpers/stack.ts'
import {
  type Exchange,
  ignoreBrowser,
  launchChromium,
  recordNetwork,
  screenshot,
} from './chromium.ts'

/** EDGE_AUTH_SESSION_CACHE_TTL_MS on the stack (the default): how long `me` may reuse "live". */
const sessionCacheTtlMs = 1_000

/**
 * Clicks a button and waits for the call it starts to be answered.
 *
 * @returns the HTTP status the page shows, and the text of the result
 */
async function click(page: Page, button: string, result: string) {
  const before = await page.locator('#requests li').count()
  await page.click(`#${button}`)
  // Selectors, not a predicate function: the page's CSP forbids the eval that would need.
  await page.locator('#requests li').nth(before).waitFor()
  await page.locator(`#${result}:not([data-status="pending"])`).waitFor()
  const status = Number(await page.getAttribute(`#${result}`, 'data-status'))
  return { status, text: (await page.textContent(`#${result}`)) ?? '' }
}

async function text(page: Page, selector: string): Promise<string> {
  return ((await page.textContent(selector)) ?? '').trim()
}

/** Uncaught exceptions and console errors, except Chromium's note on each 4xx it loaded. */
function collectPageErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  page.on('console', (message) => {
    if (message.type() !== 'error') return
    if (message.text().startsWith('Failed to load resource: the server responded')) return
    errors.push(message.text())
  })
  return errors
}

function commaList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim().toLowerCase()).filter(Boolean)
}

/**
 * The preflight Chromium sent before `method url`: 204, from the page's origin, allowing that
 * method and every header the page asked for, `authorization` included.
 */
function assertPreflight(exchanges: Exchange[], method: string, url: string, pageOrigin: string) {
  const preflight = exchanges.find((exchange) =>
    exchange.kind === 'preflight' && exchange.url === url &&
    exchange.requestHeaders['access-control-request-method'] === method
  )
  assert(preflight, `Chromium sent a CORS preflight before ${method} ${url}`)
  assertEquals(preflight.method, 'OPTIONS')
  assertEquals(preflight.requestHeaders['origin'], pageOrigin, 'the preflight is cross-origin')
  assertEquals(preflight.status, 204, `preflight of ${method} ${url}`)
  const headers = preflight.responseHeaders ?? {}
  assert(
    ['*', pageOrigin].includes(headers['access-control-allow-origin'] ?? ''),
    `the preflight of ${method} ${url} allows the page's origin`,
  )
  assert(commaList(headers['access-control-allow-methods']).includes(method.toLowerCase()))
  const allowed = commaList(headers['access-control-allow-headers'])
  assert(allowed.includes('authorization'), 'Access-Control-Allow-Headers includes authorization')
  for (const requested of commaList(preflight.requestHeaders['access-control-request-headers'])) {
    assert(allowed.includes(requested), `Access-Control-Allow-Headers includes ${requested}`)
  }
}

/** An error the page could read: CORS headers on it, `WWW-Authenticate` exposed. */
function assertReadableError(exchange: Exchange, pageOrigin: string) {
  const headers = exchange.responseHeaders ?? {}
  assert(
    ['*', pageOrigin].includes(headers['access-control-allow-origin'] ?? ''),
    `the ${exchange.status} of ${exchange.method} ${exchange.url} carries Access-Control-Allow-Origin`,
  )
  assert(
    commaList(headers['access-control-expose-headers']).includes('www-authenticate'),
    'Access-Control-Expose-Headers includes WWW-Authenticate',
  )
  assert(headers['www-authenticate'], 'the 401 carries WWW-Authenticate')
}

Deno.test({
  name:
    'browser demo, full lifecycle: log in -> session shown -> me + notes -> log out -> session cleared -> me denied with its reason, every call cross-origin with CORS',
  ignore: !hasAuthServer || ignoreBrowser,
  async fn(t) {
    const stack = testStack()
    const user = await createTestUser()
    const browser = await launchChromium()
    try {
      const page = await browser.context.newPage()
      const network = await recordNetwork(browser.context, page)
      const pageErrors = collectPageErrors(page)
      const pageOrigin = new URL(stack.demoUrl).origin
      const shots: string[] = []

      await t.step('0. the page loads its config and starts signed out', async () => {
        await page.goto(stack.demoUrl)
        await page.waitForSelector('body[data-ready="true"]')
        assertStringIncludes(await text(page, '#origins'), `API: ${new URL(stack.url).origin}`)
        assertEquals(await page.getAttribute('#session', 'data-state'), 'none')
        assertEquals(await text(page, '#session'), 'null  (not signed in)')
        assert(await page.isDisabled('#me'), 'me needs a session')
        assert(await page.isDisabled('#logout'), 'logout needs a session')
        if (stack.demoUser) {
          // Against `deno task start`: the form comes prefilled with the demo user.
          assertEquals(await page.inputValue('#email'), stack.demoUser.email)
          assertEquals(await page.inputValue('#password'), stack.demoUser.password)
        }
      })

      await t.step('1. log in -> 200, the session object appears in the client state', async () => {
        await page.fill('#email', user.email)
        await page.fill('#password', user.password)
        const login = await click(page, 'login', 'login-result')
        assertEquals(login.status, 200, login.text)
        assertEquals(await page.getAttribute('#session', 'data-state'), 'session')
        const session = await text(page, '#session')
        assertStringIncludes(session, '"token_type": "bearer"')
        assertStringIncludes(session, `"email": "${user.email}"`)
        assertStringIncludes(session, `"id": "${user.id}"`)
        assertStringIncludes(session, '"access_token": "eyJ')
        assert(await page.isEnabled('#me'), 'me is enabled with a session')
        shots.push(await screenshot(page, 'demo_1_logged_in'))
      })

      let meAnsweredAt = 0
      await t.step('2. call me -> 200 with the verified identity and the session', async () => {
        const me = await click(page, 'me', 'me-result')
        meAnsweredAt = performance.now()
        assertEquals(me.status, 200, me.text)
        assertStringIncludes(me.text, `"id": "${user.id}"`)
        assertStringIncludes(me.text, `"email": "${user.email}"`)
        assertStringIncludes(me.text, '"role": "authenticated"')
        assertStringIncludes(me.text, '"session": {')
        shots.push(await screenshot(page, 'demo_2_me'))
      })

      await t.step('3. add a note -> 201, list notes -> 200 with exactly that note', async () => {
        const body = `remember the milk (browser test ${crypto.randomUUID().slice(0, 8)})`
        await page.fill('#note-body', body)
        const added = await click(page, 'add-note', 'notes-result')
        assertEquals(added.status, 201, added.text)
        assertStringIncludes(added.text, body)
        const listed = await click(page, 'list-notes', 'notes-result')
        assertEquals(listed.status, 200, listed.text)
        const items = await page.locator('#notes-list li').allTextContents()
        assertEquals(items.length, 1, `one note listed: ${JSON.stringify(items)}`)
        assertStringIncludes(items[0]!, body)
        shots.push(await screenshot(page, 'demo_3_notes'))
      })

      await t.step('4. log out -> 204, the client state is cleared', async () => {
        const logout = await click(page, 'logout', 'logout-result')
        assertEquals(logout.status, 204, logout.text)
        assertEquals(await page.getAttribute('#session', 'data-state'), 'none')
        assertEquals(await text(page, '#session'), 'null  (signed out: the session was cleared)')
        assert(await page.isDisabled('#me'), 'no session, no me button')
        assert(await page.isEnabled('#me-old-token'), 'the signed-out token can be replayed')
        shots.push(await screenshot(page, 'demo_4_logged_out'))
      })

      await t.step(
        '5. call me again -> 401 invalid_token "session revoked" with the old token, 401 unauthorized without one; error, description and WWW-Authenticate shown',
        async () => {
          // `me` runs in its own isolate and may reuse its "live" answer from step 2 for up to
          // the session cache TTL, never longer: click until the page shows the refusal, a 200
          // only for a click made within the TTL after step 2's answer.
          let last = ''
          const { value: replay } = await eventually(async () => {
            const clickedAt = performance.now()
            const answer = await click(page, 'me-old-token', 'denied-result')
            last = `${answer.status} ${answer.text}`
            if (answer.status !== 200) return answer
            const late = clickedAt - meAnsweredAt
            assert(late < sessionCacheTtlMs, `200 for a click ${Math.round(late)} ms after step 2`)
          }, {
            timeoutMs: sessionCacheTtlMs + 5_000,
            since: meAnsweredAt,
            intervalMs: 100,
            what: 'the page shows me refusing the signed-out token',
            describe: () => last.slice(0, 200),
          })
          assertEquals(replay.status, 401, replay.text)
          assertEquals(await text(page, '#denial-status'), '401 Unauthorized')
          assertEquals(await text(page, '#denial-error'), 'invalid_token')
          assertEquals(await text(page, '#denial-description'), 'session revoked')
          assertEquals(
            await text(page, '#denial-www-authenticate'),
            'Bearer realm="edge-auth", error="invalid_token", error_description="session revoked"',
          )
          assert(await page.isVisible('#denial'), 'the denial panel is shown')
          shots.push(await screenshot(page, 'demo_5_denied_revoked'))

          const anonymous = await click(page, 'me-no-token', 'denied-result')
          assertEquals(anonymous.status, 401, anonymous.text)
          assertEquals(await text(page, '#denial-error'), 'unauthorized')
          assertEquals(await text(page, '#denial-description'), 'Authentication required')
          assertEquals(await text(page, '#denial-www-authenticate'), 'Bearer realm="edge-auth"')
          shots.push(await screenshot(page, 'demo_6_denied_no_token'))
        },
      )

      await t.step(
        '6. the network: preflights 204 allowing authorization, the 401s readable cross-origin, nothing blocked',
        () => {
          const api = new URL(stack.url).origin
          const calls = network.filter((exchange) => new URL(exchange.url).origin === api)
          assertEquals(
            calls.filter((exchange) => exchange.failure).map((e) => `${e.url}: ${e.failure}`),
            [],
            'no request to the API failed in the browser',
          )
          assertPreflight(calls, 'POST', `${stack.functionsUrl}/login`, pageOrigin)
          assertPreflight(calls, 'GET', `${stack.functionsUrl}/me`, pageOrigin)
          assertPreflight(calls, 'POST', `${stack.functionsUrl}/notes`, pageOrigin)
          assertPreflight(calls, 'POST', `${stack.functionsUrl}/logout`, pageOrigin)
          const denied = calls.filter((exchange) =>
            exchange.kind === 'request' && exchange.status === 401
          )
          assertEquals(denied.length, 2, 'two 401s from me')
          for (const exchange of denied) assertReadableError(exchange, pageOrigin)
          assertEquals(pageErrors, [], 'no script error or CSP violation on the page')
        },
      )
      console.log(`screenshots: ${shots.join(', ')}`)
    } finally {
      await browser.close()
    }
  },
})

Deno.test({
  name:
    'browser demo signed out (no auth server needed): me is denied 401 and the page reads error and WWW-Authenticate through CORS; a configured demo user is prefilled',
  ignore: ignoreBrowser,
  async fn() {
    const stack = testStack()
    const browser = await launchChromium()
    // A second demo server on its own port, configured with a demo user: the ephemeral test stack
    // creates none, and the prefill must still be proven here.
    const prefilled = startDemoServer({
      port: 0,
      config: () => ({
        apiUrl: stack.url,
        functionsUrl: stack.functionsUrl,
        publishableKey: stack.publishableKey,
        demoUser: { email: 'demo@example.com', password: 'demo-password-123' },
      }),
    })
    try {
      const page = await browser.context.newPage()
      const network = await recordNetwork(browser.context, page)
      const pageErrors = collectPageErrors(page)
      const pageOrigin = new URL(stack.demoUrl).origin
      await page.goto(stack.demoUrl)
      await page.waitForSelector('body[data-ready="true"]')
      assertEquals(await text(page, '#session'), 'null  (not signed in)')
      assert(await page.isDisabled('#me-old-token'), 'no signed-out token yet')

      const denied = await click(page, 'me-no-token', 'denied-result')
      assertEquals(denied.status, 401, denied.text)
      assertEquals(await text(page, '#denial-status'), '401 Unauthorized')
      assertEquals(await text(page, '#denial-error'), 'unauthorized')
      assertEquals(await text(page, '#denial-description'), 'Authentication required')
      assertEquals(await text(page, '#denial-www-authenticate'), 'Bearer realm="edge-auth"')
      assertStringIncludes(await text(page, '#requests'), 'GET /functions/v1/me → 401')
      await screenshot(page, 'demo_0_denied_signed_out')

      const calls = network.filter((exchange) => exchange.url === `${stack.functionsUrl}/me`)
      // The page sends `apikey` like supabase-js, so even a GET without a token is preflighted.
      assertPreflight(calls, 'GET', `${stack.functionsUrl}/me`, pageOrigin)
      const answer = calls.find((exchange) => exchange.kind === 'request')
      assert(answer, 'the GET reached the network')
      assertEquals(answer.status, 401)
      assertEquals(answer.failure, undefined)
      assertReadableError(answer, pageOrigin)
      assertEquals(pageErrors, [], 'no script error or CSP violation on the page')

      const second = await browser.context.newPage()
      await second.goto(prefilled.url)
      await second.waitForSelector('body[data-ready="true"]')
      assertEquals(await second.inputValue('#email'), 'demo@example.com')
      assertEquals(await second.inputValue('#password'), 'demo-password-123')
    } finally {
      await browser.close()
      await prefilled.shutdown()
    }
  },
})
