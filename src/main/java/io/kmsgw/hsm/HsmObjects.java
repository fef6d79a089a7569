package io.kmsgw.hsm;

import java.util.List;

/**
 * The object part of the HSM port: finding, describing, checking and destroying key objects, and reading their
 * custody attributes.
 */
public interface HsmObjects {
  /**
   * The keys whose token objects have a label starting with {@code labelPrefix}: secret keys, and key pairs (both
   * halves share a label and id, so a pair, or a half left alone, is listed once).
   */
  List<HsmKey> findKeys(String labelPrefix) throws HsmException;

  /** Whether the key object exists. */
  boolean exists(HsmKey key) throws HsmException;

  /** Destroys the key object ({@code C_DestroyObject}); a missing object is not an error. */
  void destroy(HsmKey key) throws HsmException;

  /** Reads the custody attributes of a key: its secret key object, or the private half of its pair. */
  KeyCustody custody(HsmKey key) throws HsmException;

  /**
   * The secret-key token objects whose label is exactly {@code label}, with their type, length and usage
   * attributes (the XKS API reports and enforces a key's usage from these).
   */
  List<SecretKeyInfo> describeSecretKeys(String label) throws HsmException;
}
