package io.kmsgw.config;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What kmsgw knows about each HSM family that a token cannot be asked: how it treats AES-GCM IVs, the code of a GCM
 * tag mismatch, whether session-object copies of keys pay (each can be overridden under {@code hsm.capabilities}), and
 * whether the project has run it on real hardware. See {@code hsm-config/}. Which mechanisms a token offers is not
 * here: it is read from the token at every connection ({@code io.kmsgw.hsm.TokenMechanisms}).
 */
public enum VendorProfile {
  SOFTHSM2("SoftHSM2", false, true, true, true),
  CLOUDHSM("AWS CloudHSM (Client SDK 5)", true, false, false, false),
  LUNA("Thales Luna Network HSM 7", false, false, false, false),
  NSHIELD("Entrust nShield", false, false, false, false),
  UTIMACO("Utimaco SecurityServer", false, false, false, false),
  YUBIHSM2("YubiHSM 2", false, false, false, false),
  /**
   * NSS's software token ({@code libsoftokn3.so}), a second software PKCS#11 implementation run in the tests: it
   * takes the caller's GCM IVs and answers a failed tag check with CKR_ENCRYPTED_DATA_INVALID (measured, NssTokenTest).
   * Session-object copies: NSS reads a token key from its SQLite database on every call, so crypto on a session copy
   * ({@code C_CopyObject} with CKA_TOKEN false, which NSS allows on a sensitive key) ran 32-byte AES-GCM about ten
   * times faster (measured: ~1,900/s on the token object, ~20,000/s on the copy, one session).
   */
  NSS("NSS softoken", false, false, true, true);

  private final String displayName;
  private final boolean gcmIvFromHsm;
  private final boolean gcmGeneralErrorOnTagMismatch;
  private final boolean triedOnHardware;
  private final boolean sessionKeyCopies;

  VendorProfile(String displayName, boolean gcmIvFromHsm, boolean gcmGeneralErrorOnTagMismatch,
      boolean triedOnHardware, boolean sessionKeyCopies) {
    this.displayName = displayName;
    this.gcmIvFromHsm = gcmIvFromHsm;
    this.gcmGeneralErrorOnTagMismatch = gcmGeneralErrorOnTagMismatch;
    this.triedOnHardware = triedOnHardware;
    this.sessionKeyCopies = sessionKeyCopies;
  }

  /**
   * Sessions (and HSM worker threads) when {@code hsm.pool.size} is not set. SoftHSM2 computes on this machine's
   * cores, so two per core keeps them busy without piling up threads (measured: more sessions only add context
   * switches); a network HSM spends most of a call waiting on the network, so it needs more calls in flight.
   */
  public int defaultPoolSize() {
    return this == SOFTHSM2 ? Math.max(2, 2 * Runtime.getRuntime().availableProcessors()) : 16;
  }

  /**
   * Run crypto on session-object copies of token keys: measured to double SoftHSM2's AES-GCM rate; off for
   * hardware until tried there (session object memory is limited on some HSMs).
   */
  public boolean sessionKeyCopies() {
    return sessionKeyCopies;
  }

  public static VendorProfile parse(String name) {
    try {
      return valueOf(name.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ConfigException("hsm.vendor: unknown vendor '" + name + "'; one of " + names());
    }
  }

  public static List<String> names() {
    return Arrays.stream(values()).map(v -> v.name().toLowerCase(Locale.ROOT)).toList();
  }

  public String displayName() {
    return displayName;
  }

  /** The HSM insists on generating AES-GCM IVs itself (FIPS mode). */
  public boolean gcmIvFromHsm() {
    return gcmIvFromHsm;
  }

  /** A failed GCM tag check comes back as CKR_GENERAL_ERROR. */
  public boolean gcmGeneralErrorOnTagMismatch() {
    return gcmGeneralErrorOnTagMismatch;
  }

  /** The kmsgw project has run this vendor (SoftHSM2 is software, run in every test). */
  public boolean triedOnHardware() {
    return triedOnHardware;
  }
}
