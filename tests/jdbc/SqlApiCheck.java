// pgjdbc against cubec's SQL API: DatabaseMetaData.getTables and getColumns, and a prepared
// statement with a parameter. Prints JSON for scripts/sqlapi_clients.py.
//   java -cp classes:/usr/share/java/postgresql.jar SqlApiCheck JDBC_URL USER PASSWORD
import java.sql.*;
import java.util.*;

public class SqlApiCheck {
    static String quote(String s) {
        return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0], args[1], args[2])) {
            DatabaseMetaData md = c.getMetaData();
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE"})) {
                while (rs.next()) tables.add(quote(rs.getString("TABLE_NAME")));
            }
            List<String> columns = new ArrayList<>();
            try (ResultSet rs = md.getColumns(null, "public", "referral_kpis", "%")) {
                while (rs.next()) columns.add(quote(rs.getString("COLUMN_NAME")) + ":" + quote(rs.getString("TYPE_NAME")));
            }
            List<String> rows = new ArrayList<>();
            String sql = "SELECT channel, MEASURE(count), MEASURE(conversions), MEASURE(referral_conversion_rate) "
                + "FROM referrals WHERE channel = ? GROUP BY 1";
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                for (int run = 0; run < 6; run++) { // pgjdbc switches to a named server statement after 5 runs
                    ps.setString(1, "email");
                    rows.clear();
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            rows.add("[" + quote(rs.getString(1)) + "," + quote(rs.getString(2)) + "," + quote(rs.getString(3)) + ","
                                + quote(rs.getString(4)) + "]");
                        }
                    }
                }
            }
            System.out.println("{\"tables\": [" + String.join(",", tables) + "], \"columns\": {" + String.join(",", columns)
                + "}, \"prepared\": [" + String.join(",", rows) + "]}");
        }
    }
}
