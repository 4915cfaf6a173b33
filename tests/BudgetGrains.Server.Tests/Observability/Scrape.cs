using System.Globalization;

namespace BudgetGrains.Server.Tests.Observability;

/// <summary>One /metrics answer in the Prometheus text format: each series ("name{labels}") and its value.</summary>
internal sealed class Scrape
{
    private Scrape(IReadOnlyDictionary<string, double> series) => Series = series;

    public IReadOnlyDictionary<string, double> Series { get; }

    public static async Task<Scrape> TakeAsync(HttpClient http)
    {
        using var answer = await http.GetAsync("/metrics");
        answer.EnsureSuccessStatusCode();
        var text = await answer.Content.ReadAsStringAsync();
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var space = line.LastIndexOf(' ');
            series[line[..space]] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }
        return new Scrape(series);
    }

    /// <summary>The value of the series named <paramref name="name"/> whose labels include every one of <paramref name="labels"/>
    /// (<c>rpc="reserve"</c>); 0 when there is none.</summary>
    public double Value(string name, params string[] labels) =>
        Series.Where(s => s.Key.StartsWith(name + "{", StringComparison.Ordinal) && labels.All(l => s.Key.Contains(l, StringComparison.Ordinal)))
            .Sum(s => s.Value);

    public double Delta(Scrape before, string name, params string[] labels) => Value(name, labels) - before.Value(name, labels);
}
