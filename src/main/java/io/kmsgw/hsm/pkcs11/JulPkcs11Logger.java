package io.kmsgw.hsm.pkcs11;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Routes the PKCS#11 wrapper's own log lines to java.util.logging one level lower than it asks: it logs every
 * {@code C_OpenSession} at INFO, which is detail for an operator.
 */
final class JulPkcs11Logger implements org.xipki.pkcs11.wrapper.Logger {
  private static final Logger LOG = Logger.getLogger("io.kmsgw.hsm.pkcs11.wrapper");

  private static void log(Level level, String format, Object... args) {
    if (LOG.isLoggable(level)) {
      LOG.log(level, format(format, args));
    }
  }

  /** The wrapper uses SLF4J-style {} placeholders. */
  private static String format(String format, Object... args) {
    if (args == null || args.length == 0) {
      return format;
    }
    StringBuilder sb = new StringBuilder();
    int arg = 0;
    int i = 0;
    while (i < format.length()) {
      if (arg < args.length && format.startsWith("{}", i)) {
        sb.append(args[arg++]);
        i += 2;
      } else {
        sb.append(format.charAt(i++));
      }
    }
    return sb.toString();
  }

  @Override
  public void info(String format, Object... args) {
    log(Level.FINE, format, args);
  }

  @Override
  public void warn(String format, Object... args) {
    // a token without a clock (NSS's softoken) reports utcTime as zeros at every C_GetTokenInfo: nothing to act on
    log(format.startsWith("toke return invalid utcTime") ? Level.FINE : Level.WARNING, format, args);
  }

  @Override
  public void error(String format, Object... args) {
    log(Level.SEVERE, format, args);
  }

  @Override
  public void debug(String format, Object... args) {
    log(Level.FINER, format, args);
  }

  @Override
  public void trace(String format, Object... args) {
    log(Level.FINEST, format, args);
  }

  @Override
  public boolean isDebugEnabled() {
    return LOG.isLoggable(Level.FINER);
  }

  @Override
  public boolean isInfoEnabled() {
    return LOG.isLoggable(Level.FINE);
  }

  @Override
  public boolean isWarnEnabled() {
    return LOG.isLoggable(Level.WARNING);
  }

  @Override
  public boolean isTraceEnabled() {
    return LOG.isLoggable(Level.FINEST);
  }
}
