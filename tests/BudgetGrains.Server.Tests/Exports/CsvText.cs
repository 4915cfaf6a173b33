using System.Text;

namespace BudgetGrains.Server.Tests.Exports;

/// <summary>An RFC 4180 reader for the tests (quoted fields, doubled quotes, CRLF), so an export is read as a spreadsheet would.</summary>
internal static class CsvText
{
    /// <summary>Rows as maps from the header's column names to values.</summary>
    public static List<Dictionary<string, string>> Records(string text, out IReadOnlyList<string> header)
    {
        var rows = Rows(text);
        header = rows[0];
        var names = rows[0];
        return [.. rows.Skip(1).Select(r =>
        {
            Assert.Equal(names.Count, r.Count);
            return names.Zip(r).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
        })];
    }

    public static List<List<string>> Rows(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { row.Add(field.ToString()); field.Clear(); }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add(row);
                row = [];
                i++;
            }
            else field.Append(c);
        }
        Assert.True(field.Length == 0 && row.Count == 0, "the CSV does not end with CRLF");
        return rows;
    }
}
