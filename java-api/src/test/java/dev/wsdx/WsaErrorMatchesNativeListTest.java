package dev.wsdx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The WSA codes are listed once, in the {@code WSDX_ERROR_MAP} X-macro of native/include/wsdx.h, which
 * generates the C defines and {@code wsdx_error_name}. The Java side must say the same: this test fails
 * when {@link WsaError} (constants and names) or {@link WsdxException} differs from that list.
 */
class WsaErrorMatchesNativeListTest {
    private static final Pattern ENTRY = Pattern.compile("X\\((WSA[A-Z]+),\\s*(\\d+)\\)");

    /** name -> value, from the X-macro list in the public C header. */
    static Map<String, Integer> nativeList() throws IOException {
        Path h = Paths.get("..", "native", "include", "wsdx.h");
        assertTrue(Files.isRegularFile(h), "native/include/wsdx.h not found from " + Paths.get("").toAbsolutePath());
        String text = new String(Files.readAllBytes(h), StandardCharsets.UTF_8);
        int start = text.indexOf("#define WSDX_ERROR_MAP(X)");
        assertTrue(start >= 0, "wsdx.h has no WSDX_ERROR_MAP(X) list");
        int end = start;
        while (true) { // the macro ends at the first line without a continuation backslash
            int nl = text.indexOf('\n', end);
            String line = text.substring(end, nl < 0 ? text.length() : nl);
            end = nl < 0 ? text.length() : nl + 1;
            if (!line.stripTrailing().endsWith("\\")) {
                break;
            }
        }
        Map<String, Integer> list = new TreeMap<>();
        Matcher m = ENTRY.matcher(text.substring(start, end));
        while (m.find()) {
            list.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        assertFalse(list.isEmpty(), "WSDX_ERROR_MAP lists no codes");
        return list;
    }

    /** name -> value of WsaError's public int constants. */
    static Map<String, Integer> javaList() throws IllegalAccessException {
        Map<String, Integer> list = new TreeMap<>();
        for (Field f : WsaError.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
                list.put(f.getName(), f.getInt(null));
            }
        }
        return list;
    }

    @Test
    void wsaErrorConstantsAreTheNativeList() throws Exception {
        assertEquals(nativeList(), javaList());
    }

    @Test
    void wsaErrorNamesEveryNativeCode() throws Exception {
        for (Map.Entry<String, Integer> e : nativeList().entrySet()) {
            assertEquals(e.getKey(), WsaError.name(e.getValue()), "name of " + e.getValue());
        }
    }

    @Test
    void wsdxExceptionCarriesEveryNativeCodeAndName() throws Exception {
        for (Map.Entry<String, Integer> e : nativeList().entrySet()) {
            WsaCoded x = (WsaCoded) WsdxException.of(-e.getValue(), "op");
            assertEquals((int) e.getValue(), x.wsaError(), "code of " + e.getKey());
            assertEquals(e.getKey(), x.wsaName(), "name of " + e.getValue());
        }
    }
}
