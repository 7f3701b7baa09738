// Run in the page by test_web.py: recomputes one vector of crypto/vectors.json with the page's own
// crypto module (argon2id in WebAssembly, HKDF and AES-GCM from WebCrypto) and answers the results.
const [vector, done] = arguments;
(async () => {
  const { crypto: c } = await import('/assets/app.js');
  const keys = await c.passwordKeys(vector.password, c.unhex(vector.salt), vector.argon2id, vector.argon2id);
  const dataKey = c.unhex(vector.data_key);
  const wrapped = await c.wrapDataKey(keys.encryptionKey, vector.account_id, dataKey, c.unhex(vector.wrap_nonce));
  const recovery = await c.newRecovery(vector.account_id, dataKey, c.unhex(vector.recovery_code_bytes), c.unhex(vector.recovery_nonce));
  const handle = await c.dataKeyHandle(dataKey);
  const opened = await c.openSealed(handle, c.unhex(vector.blob_sealed));
  return {
    email: c.normalizeEmail(vector.email_input),
    auth_key: c.hex(keys.authKey), encryption_key: c.hex(keys.encryptionKey),
    wrapped_data_key: c.hex(wrapped),
    unwrapped: c.hex(await c.unwrapDataKey(keys.encryptionKey, vector.account_id, wrapped)),
    recovery_code: recovery.code,
    parsed_code: c.hex(c.parseRecoveryCode(recovery.code.toLowerCase().replaceAll('0', 'o'))),
    recovery_verifier: c.hex(await c.recoveryVerifier(c.unhex(vector.recovery_code_bytes))),
    recovery_verifier_digest: c.hex(recovery.verifierDigest),
    recovery_wrapped_data_key: c.hex(recovery.wrapped),
    recovered: c.hex(await c.unwrapWithRecovery(c.unhex(vector.recovery_code_bytes), vector.account_id, recovery.wrapped)),
    blob_plaintext: c.hex(opened),
    blob_name: c.hex(await c.sha256(c.unhex(vector.blob_sealed))),
  };
})().then(done, (error) => done({ error: String(error) }));

