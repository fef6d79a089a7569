package io.kmsgw.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.ArgumentsProvider;
import org.junit.jupiter.params.provider.ArgumentsSource;
import org.junit.jupiter.params.support.ParameterDeclarations;

/**
 * Runs every test of the class once per {@link TokenKind} of the run (SoftHSM2 and NSS by default; {@code
 * -Dkmsgw.test.tokens} narrows it): the same tests, not a copy, on two PKCS#11 implementations. The class receives
 * its kind as a {@code @Parameter TokenKind kind} field, or as the argument of a static
 * {@code @BeforeParameterizedClassInvocation} method that makes its token. A test that cannot hold on one kind says
 * why with an assumption ({@code assumeTrue(kind.createsTokensAtRunTime(), "...")}), never silently.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@ParameterizedClass(name = "on {0}")
@ArgumentsSource(OnEveryToken.SelectedKinds.class)
public @interface OnEveryToken {
  /** The kinds of {@link TokenKind#selected()}. */
  final class SelectedKinds implements ArgumentsProvider {
    @Override
    public Stream<? extends Arguments> provideArguments(ParameterDeclarations parameters, ExtensionContext context) {
      return TokenKind.selected().stream().map(Arguments::of);
    }
  }
}
