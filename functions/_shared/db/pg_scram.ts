/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it to authenticate a client, on Web
 * Crypto: PBKDF2 and HMAC run natively, and the server must prove it knows the password too.
 *
 * @module
 */

const encoder = new TextEncoder()

/** The SASL mechanism name. Channel binding (`-PLUS`) is not offered, so the header is `n,,`. */
export const SCRAM_MECHANISM = 'SCRAM-SHA-256'
const GS2_HEADER = 'n,,'
const MAX_ITERATIONS = 1_000_000

/** One SCRAM exchange: first message, the answer to the server's challenge, the final check. */
export interface ScramExchange {
  /** The client-first-message. */
  readonly clientFirst: string
  /**
   * The client-final-message for the server-first-message.
   *
   * @throws Error when the challenge is malformed or its nonce is not an extension of ours
   */
  respond(serverFirst: string): Promise<string>
  /**
   * Checks the server-final-message: the server's signature proves it holds the password's
   * verifier, so a server that merely accepts anyone is caught.
   *
   * @throws Error when the signature is missing or wrong
   */
  verify(serverFinal: string): void
}

/**
 * Starts a SCRAM-SHA-256 exchange for `password`.
 *
 * @param password the user's password
 * @returns the exchange
 */
export function scramExchange(password: string): ScramExchange {
  const clientNonce = base64(crypto.getRandomValues(new Uint8Array(18)))
  // The user name is empty: PostgreSQL takes it from the startup message.
  const clientFirstBare = `n=,r=${clientNonce}`
  let expectedServerSignature: string | null = null
  return {
    clientFirst: GS2_HEADER + clientFirstBare,
    async respond(serverFirst) {
      const fields = attributes(serverFirst)
      const nonce = fields.get('r')
      const salt = fields.get('s')
      const iterations = Number(fields.get('i'))
      if (
        !nonce?.startsWith(clientNonce) || nonce.length === clientNonce.length ||
        salt === undefined || !Number.isInteger(iterations) || iterations < 1 ||
        // A bound on the work a hostile server can make us do (PostgreSQL's default is 4096).
        iterations > MAX_ITERATIONS
      ) {
        throw new Error('SCRAM: malformed server challenge')
      }
      const salted = await pbkdf2(password, unbase64(salt), iterations)
      const clientKey = await hmac(salted, 'Client Key')
      const storedKey = new Uint8Array(
        await crypto.subtle.digest('SHA-256', clientKey as BufferSource),
      )
      const clientFinalWithoutProof = `c=${btoa(GS2_HEADER)},r=${nonce}`
      const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`
      const signature = await hmac(storedKey, authMessage)
      const proof = clientKey.map((byte: number, i: number) => byte ^ signature[i]!)
      expectedServerSignature = base64(await hmac(await hmac(salted, 'Server Key'), authMessage))
      return `${clientFinalWithoutProof},p=${base64(proof)}`
    },
    verify(serverFinal) {
      const signature = attributes(serverFinal).get('v')
      if (expectedServerSignature === null || signature !== expectedServerSignature) {
        throw new Error('SCRAM: the server did not prove it knows the password')
      }
    },
  }
}

function attributes(message: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const part of message.split(',')) {
    if (part.length >= 2 && part[1] === '=') fields.set(part[0]!, part.slice(2))
  }
  return fields
}

// Plain `Uint8Array`s with casts where Web Crypto takes them: Deno 2.1's TypeScript has no
// generic `Uint8Array<ArrayBuffer>`, and newer ones want it for a `BufferSource`.
async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(password), 'PBKDF2', false, [
    'deriveBits',
  ])
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations },
    key,
    256,
  )
  return new Uint8Array(bits)
}

async function hmac(key: Uint8Array, data: string): Promise<Uint8Array> {
  const hmacKey = await crypto.subtle.importKey(
    'raw',
    key as BufferSource,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  return new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, encoder.encode(data)))
}

function base64(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

function unbase64(text: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
  } catch {
    throw new Error('SCRAM: malformed salt')
  }
}
