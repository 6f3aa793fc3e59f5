/**
 * Copies a folder with everything under it, for tests that build a project of their own from the
 * repository's files.
 *
 * @module
 */
import { join } from 'node:path'

/**
 * @param from the folder to copy
 * @param to where the copy goes (made when missing)
 */
export async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true })
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(join(from, entry.name), join(to, entry.name))
    else if (entry.isFile) await Deno.copyFile(join(from, entry.name), join(to, entry.name))
  }
}
