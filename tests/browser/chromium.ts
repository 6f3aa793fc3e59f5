/**
 * Real Chromium for the browser tests: Debian's `/usr/bin/chromium` (installed by `.ci/run` with
 * `apt-get install -y chromium`; never a browser download) driven by playwright-core, plus a
 * recorder of what crossed the network, preflights included, through the DevTools protocol.
 *
 * @module
 */
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'npm:playwright-core@1.65.1'
import { repoRoot } from '../../supabase/local/paths.ts'

/** Where Debian's package puts the browser. */
export const chromiumPath = '/usr/bin/chromium'

/**
 * Flags for a closed network and a root user: without the background-networking ones Chromium
 * keeps dialling Google's hosts, which this machine refuses; as root it needs `--no-sandbox`.
 */
export const chromiumFlags: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Screenshots of the demo, for a human to look at (git-ignored). */
export const screenshotDir: string = join(repoRoot, '.local', 'screenshots')

/**
 * Whether the browser tests are ignored: only when Chromium is missing and `CI` is not set. In CI
 * `.ci/run` installs Chromium, so a missing one must fail the run rather than pass it silently.
 */
export const ignoreBrowser: boolean = decideIgnore()

function decideIgnore(): boolean {
  if (chromiumInstalled()) return false
  if (isCi()) return false
  console.error(
    `browser tests are ignored: ${chromiumPath} not found (apt-get install -y chromium); ` +
      'with CI set they fail instead',
  )
  return true
}

function chromiumInstalled(): boolean {
  try {
    return Deno.statSync(chromiumPath).isFile
  } catch {
    return false
  }
}

function isCi(): boolean {
  const value = (Deno.env.get('CI') ?? '').toLowerCase()
  return value !== '' && value !== '0' && value !== 'false'
}

/** A browser with its own fresh profile; `close()` ends Chromium and deletes the profile. */
export interface TestBrowser {
  context: BrowserContext
  close(): Promise<void>
}

/**
 * Launches headless Chromium with a fresh, empty user-data-dir.
 *
 * @returns the browser context and its cleanup
 * @throws Error naming the fix when Chromium is not installed
 */
export async function launchChromium(): Promise<TestBrowser> {
  if (!chromiumInstalled()) {
    throw new Error(
      `Chromium is not installed at ${chromiumPath}: .ci/run installs it with ` +
        '`apt-get install -y chromium` (playwright must not download its own browser)',
    )
  }
  const userDataDir = await Deno.makeTempDir({ prefix: 'edge-auth-chromium-' })
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: [...chromiumFlags],
      viewport: { width: 1280, height: 900 },
    })
    return {
      context,
      async close() {
        await context.close()
        await Deno.remove(userDataDir, { recursive: true }).catch(() => {})
      },
    }
  } catch (err) {
    await Deno.remove(userDataDir, { recursive: true }).catch(() => {})
    throw err
  }
}

/** One request as Chromium's network stack saw it, preflights included. */
export interface Exchange {
  /** `preflight` for the CORS OPTIONS request the browser sent on its own. */
  kind: 'preflight' | 'request'
  method: string
  url: string
  /** Header names in lower case. */
  requestHeaders: Record<string, string>
  status?: number
  /** Header names in lower case. */
  responseHeaders?: Record<string, string>
  /** Set when the request failed in the browser (e.g. blocked by CORS). */
  failure?: string
}

/**
 * Records every request of a page through the DevTools protocol. Playwright's own request events
 * do not report CORS preflights; the protocol does.
 *
 * @param context the browser context
 * @param page the page to watch
 * @returns the list, filled as requests happen
 */
export async function recordNetwork(context: BrowserContext, page: Page): Promise<Exchange[]> {
  const exchanges: Exchange[] = []
  const byId = new Map<string, Exchange>()
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  cdp.on('Network.requestWillBeSent', (event) => {
    const exchange: Exchange = {
      kind: event.initiator.type === 'preflight' ? 'preflight' : 'request',
      method: event.request.method,
      url: event.request.url,
      requestHeaders: lowerCase(event.request.headers),
    }
    byId.set(event.requestId, exchange)
    exchanges.push(exchange)
  })
  cdp.on('Network.responseReceived', (event) => {
    const exchange = byId.get(event.requestId)
    if (!exchange) return
    exchange.status = event.response.status
    exchange.responseHeaders = lowerCase(event.response.headers)
  })
  cdp.on('Network.loadingFailed', (event) => {
    const exchange = byId.get(event.requestId)
    if (exchange) {
      exchange.failure = event.blockedReason ?? event.corsErrorStatus?.corsError ?? event.errorText
    }
  })
  return exchanges
}

function lowerCase(headers: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]),
  )
}

/**
 * Saves a full-page screenshot under `.local/screenshots/`, scrolled to the top first so the
 * sticky client-state panel sits where a reader expects it.
 *
 * @param page the page
 * @param name file name without extension
 * @returns the path written
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  await Deno.mkdir(screenshotDir, { recursive: true })
  const path = join(screenshotDir, `${name}.png`)
  // A string: this code runs in the page, and Deno's type library has no DOM.
  await page.evaluate('window.scrollTo(0, 0)')
  await page.screenshot({ path, fullPage: true })
  return path
}
