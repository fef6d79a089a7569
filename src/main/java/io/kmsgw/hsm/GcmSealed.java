package io.kmsgw.hsm;

/**
 * The result of an AES-GCM encryption whose IV the HSM chose: that 12-byte IV and the ciphertext followed by the
 * 16-byte tag.
 */
public record GcmSealed(byte[] iv, byte[] ciphertextAndTag) {}
