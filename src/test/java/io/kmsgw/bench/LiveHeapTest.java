package io.kmsgw.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LiveHeapTest {
  @Test
  void parseUsedMiB_readsG1sHeapInfo_andNothingElse() {
    String g1 = "12345:\n garbage-first heap   total 524288K, used 61440K [0x00000000e0000000, 0x0000000100000000)\n"
        + "  region size 1024K, 3 young (3072K), 0 survivors (0K)\n Metaspace       used 28610K, committed 29120K\n";
    assertEquals(60.0, LiveHeap.parseUsedMiB(g1));
    assertEquals(-1, LiveHeap.parseUsedMiB("12345:\nno such command\n"));
  }

  @Test
  void afterFullGcMiB_ofThisJvm_isPositiveAndBelowItsMaximum() {
    // jcmd attaching to the test JVM itself: the same path the soak takes with the gateway's process
    double live = LiveHeap.afterFullGcMiB(ProcessHandle.current().pid());
    assertTrue(live > 0 && live < Runtime.getRuntime().maxMemory() / 1048576.0, "live heap " + live + " MiB");
  }
}
