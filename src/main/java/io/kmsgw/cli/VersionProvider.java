package io.kmsgw.cli;

import picocli.CommandLine.IVersionProvider;

/** The version from the jar manifest. */
final class VersionProvider implements IVersionProvider {
  @Override
  public String[] getVersion() {
    String v = Main.class.getPackage().getImplementationVersion();
    return new String[] {"kmsgw " + (v == null ? "(development build)" : v)};
  }
}
