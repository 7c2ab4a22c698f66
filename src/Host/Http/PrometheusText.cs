using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Pipeline.Host.Http;

/// <summary>
/// Metrics with vLLM's names, which contain ':' (allowed by Prometheus, refused by prometheus-net's name check),
/// written in the Prometheus text format next to prometheus-net's own process and HTTP metrics.
/// </summary>
public sealed class PrometheusText
{
    readonly List<Family> _families = new();

    public abstract class Family(string name, string help, string type)
    {
        public string Name { get; } = name;
        public void WriteHeader(StringBuilder sb) => sb.Append("# HELP ").Append(Name).Append(' ').Append(help).Append('\n').Append("# TYPE ").Append(Name).Append(' ').Append(type).Append('\n');
        public abstract void Write(StringBuilder sb);
        protected static string Labels(string[] names, string[] values, string? extra = null)
        {
            var parts = names.Select((n, i) => $"{n}=\"{Escape(values[i])}\"").ToList();
            if (extra != null) parts.Add(extra);
            return parts.Count == 0 ? "" : "{" + string.Join(",", parts) + "}";
        }
        static string Escape(string v) => v.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
        protected static string Num(double v) => double.IsPositiveInfinity(v) ? "+Inf" : v.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A counter or gauge: one value per label set.</summary>
    public sealed class Value(string name, string help, string type, string[] labelNames) : Family(name, help, type)
    {
        readonly ConcurrentDictionary<string, (string[] Labels, double Value)> _values = new();
        public void Inc(double by, params string[] labels) => _values.AddOrUpdate(string.Join('\u0001', labels), _ => (labels, by), (_, v) => (v.Labels, v.Value + by));
        public void Set(double value, params string[] labels) => _values[string.Join('\u0001', labels)] = (labels, value);
        /// <summary>Drops every label set (an info gauge that keeps only its latest labels).</summary>
        public void Clear() => _values.Clear();
        public double Get(params string[] labels) => _values.TryGetValue(string.Join('\u0001', labels), out var v) ? v.Value : 0;
        public override void Write(StringBuilder sb)
        {
            foreach (var (labels, v) in _values.Values) sb.Append(Name).Append(Labels(labelNames, labels)).Append(' ').Append(Num(v)).Append('\n');
        }
    }

    public sealed class Histogram(string name, string help, string[] labelNames, double[] buckets) : Family(name, help, "histogram")
    {
        sealed class State { public readonly long[] Counts; public double Sum; public long Count; public State(int n) => Counts = new long[n]; }
        readonly ConcurrentDictionary<string, (string[] Labels, State State)> _states = new();

        public void Observe(double v, params string[] labels)
        {
            var (_, s) = _states.GetOrAdd(string.Join('\u0001', labels), _ => (labels, new State(buckets.Length)));
            lock (s)
            {
                for (int i = 0; i < buckets.Length; i++) if (v <= buckets[i]) s.Counts[i]++;
                s.Sum += v;
                s.Count++;
            }
        }

        public override void Write(StringBuilder sb)
        {
            foreach (var (labels, s) in _states.Values)
                lock (s)
                {
                    for (int i = 0; i < buckets.Length; i++)
                        sb.Append(Name).Append("_bucket").Append(Labels(labelNames, labels, $"le=\"{Num(buckets[i])}\"")).Append(' ').Append(s.Counts[i]).Append('\n');
                    sb.Append(Name).Append("_bucket").Append(Labels(labelNames, labels, "le=\"+Inf\"")).Append(' ').Append(s.Count).Append('\n');
                    sb.Append(Name).Append("_sum").Append(Labels(labelNames, labels)).Append(' ').Append(Num(s.Sum)).Append('\n');
                    sb.Append(Name).Append("_count").Append(Labels(labelNames, labels)).Append(' ').Append(s.Count).Append('\n');
                }
        }
    }

    public Value Counter(string name, string help, params string[] labels) => Add(new Value(name, help, "counter", labels));
    public Value Gauge(string name, string help, params string[] labels) => Add(new Value(name, help, "gauge", labels));
    public Histogram Hist(string name, string help, double[] buckets, params string[] labels) => Add(new Histogram(name, help, labels, buckets));

    T Add<T>(T f) where T : Family { lock (_families) _families.Add(f); return f; }

    public string Export()
    {
        var sb = new StringBuilder();
        lock (_families)
            foreach (var f in _families) { f.WriteHeader(sb); f.Write(sb); }
        return sb.ToString();
    }
}
