package io.kmsgw.keystore;

import io.kmsgw.hsm.HsmException;

/**
 * Which HSM failures may go away by themselves soon, so a key store retries them within seconds (issue #15: a
 * process out of file descriptors sees its PKCS#11 calls fail with device-error codes until it gets them back).
 */
final class TransientFailures {
  private TransientFailures() {}

  /**
   * Whether a failure may go away by itself soon: a device, session or resource error, or a C_Initialize that
   * answered an error code (the library loaded; a process out of file descriptors gets CKR_GENERAL_ERROR from
   * SoftHSM2 there), or any failure while the process is nearly out of file descriptors.
   */
  static boolean isTransient(HsmException e) {
    return switch (e.kind()) {
      case DEVICE_ERROR, RESOURCE_EXHAUSTED, SESSION_INVALID, NOT_LOGGED_IN, LIBRARY_REINITIALISED, POOL_EXHAUSTED,
          TOKEN_REMOVED, CALL_TIMED_OUT -> true;
      case LIBRARY_ERROR -> e.ckr() >= 0;
      case PIN_INCORRECT, PIN_LOCKED -> false;
      default -> !descriptorHint().isEmpty();
    };
  }

  /**
   * "; the process has N of its M file descriptors open" when it has 90% or more of them open, else "": a PKCS#11
   * library out of descriptors says only CKR_GENERAL_ERROR or the like.
   */
  static String descriptorHint() {
    try {
      if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
          instanceof com.sun.management.UnixOperatingSystemMXBean os) {
        long open = os.getOpenFileDescriptorCount();
        long max = os.getMaxFileDescriptorCount();
        if (max > 0 && open >= max - max / 10) {
          return "; the process has " + open + " of its " + max + " file descriptors open";
        }
      }
    } catch (RuntimeException | InternalError e) {
      // counting opens /proc/self/fd: the JDK throws InternalError when it cannot
      return "; the process could not count its open file descriptors (it may have none left)";
    }
    return "";
  }
}
