package io.kmsgw.hsm.pkcs11;

import io.kmsgw.config.TokenSettings;
import io.kmsgw.hsm.HsmConnector;
import io.kmsgw.hsm.HsmConnectorFactory;
import java.time.Duration;
import java.util.function.Supplier;

/** Connectors that reach a token through its vendor's PKCS#11 library. */
public final class Pkcs11ConnectorFactory implements HsmConnectorFactory {
  @Override
  public HsmConnector create(TokenSettings token, Supplier<char[]> pin) {
    return new Pkcs11Connector(options(token, pin));
  }

  /** The adapter's options for a configured token. */
  static Pkcs11Options options(TokenSettings token, Supplier<char[]> pin) {
    return new Pkcs11Options(token.library(), token.tokenLabel(), pin, token.poolSize(),
        Duration.ofMillis(token.borrowTimeoutMs()), Duration.ofMillis(token.validateAfterIdleMs()),
        token.gcmGeneralErrorOnTagMismatch(), token.sessionKeyCopies(), token.minHsms(), token.gcmIvFromHsm(),
        token.initArgs());
  }
}
