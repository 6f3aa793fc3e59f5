/**
 * An `Auth` built from the package's parts, as a user's project builds them: a verifier on inline
 * keys and a session check on an injected store, all on one clock.
 *
 * @module
 */
import {
  type Auth,
  createAuth,
  createKeySource,
  createSessionCheck,
  createVerifier,
  type SessionStore,
} from '../../functions/_shared/mod.ts'
import { type ManualClock, testConfig } from './jwks_server.ts'
import { jwksOf, type TestKey } from './keys.ts'

/**
 * @param key the signing key the verifier trusts
 * @param store answers the session check
 * @param clock the clock of every part
 * @returns the services
 */
export function componentAuth(key: TestKey, store: SessionStore, clock: ManualClock): Auth {
  return createAuth({
    verifier: createVerifier({
      issuer: testConfig().issuer,
      keys: createKeySource({ jwks: jwksOf(key) }),
      clock,
    }),
    sessions: createSessionCheck({ store, clock }),
    clock,
  })
}
