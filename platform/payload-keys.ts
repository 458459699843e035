/** The payload encryption keys of PAYLOAD_KEYS (apart from the codec: configuration must not load the Temporal SDK). */

export interface PayloadKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

/** `PAYLOAD_KEYS`: `<id>:<base64 of 32 bytes>[,<id>:<key>…]`, the first one encrypting. */
export function parsePayloadKeys(spec: string): PayloadKey[] {
  return spec.split(',').map((part) => {
    const [id, encoded] = part.trim().split(':') as [string, string | undefined];
    const key = Buffer.from(encoded ?? '', 'base64');
    if (!/^[\w.-]{1,64}$/.test(id) || key.length !== 32) throw new Error(`"${id}": each key is <id>:<base64 of 32 bytes>`);
    return { id, key };
  });
}
