package io.kmsgw.kms;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.UUID;

/**
 * How CMK versions are named in the token. {@code CKA_LABEL} is {@code kmsgw:<key id>:v<version>} so an operator
 * can tell them apart with {@code pkcs11-tool --list-objects}; {@code CKA_ID} is the 16 bytes of the key id followed
 * by the 4-byte version, so the pair stays unique even if labels were edited.
 */
public final class HsmLabels {
  /** Every object the gateway creates for a CMK has a label starting with this. */
  public static final String PREFIX = "kmsgw:";

  private HsmLabels() {}

  public static String label(UUID keyId, int version) {
    return PREFIX + keyId + ":v" + version;
  }

  public static byte[] id(UUID keyId, int version) {
    return ByteBuffer.allocate(20)
        .putLong(keyId.getMostSignificantBits())
        .putLong(keyId.getLeastSignificantBits())
        .putInt(version)
        .array();
  }

  /**
   * The API's {@code KeyMaterialId} for a version: a 64-hex-digit name derived from the key id and version,
   * stable across restarts and revealing nothing about the material.
   */
  public static String keyMaterialId(UUID keyId, int version) {
    return MATERIAL_IDS.computeIfAbsent(new Version(keyId, version), HsmLabels::computeKeyMaterialId);
  }

  private record Version(UUID keyId, int version) {}

  /** One entry per key version the process has answered for: bounded by the number of versions. */
  private static final java.util.concurrent.ConcurrentHashMap<Version, String> MATERIAL_IDS =
      new java.util.concurrent.ConcurrentHashMap<>();

  private static String computeKeyMaterialId(Version v) {
    UUID keyId = v.keyId();
    int version = v.version();
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(md.digest(id(keyId, version)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
