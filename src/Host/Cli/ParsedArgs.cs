using System.Globalization;

namespace Pipeline.Host.Cli;

/// <summary>Parsed command line: positionals and option values (defaults applied), with typed accessors whose errors name the option.</summary>
public sealed class ParsedArgs
{
    readonly Dictionary<string, List<string>> _values;
    readonly CommandSpec _spec;
    public IReadOnlyList<string> Positionals { get; }

    ParsedArgs(CommandSpec spec, Dictionary<string, List<string>> values, List<string> positionals)
    {
        _spec = spec;
        _values = values;
        Positionals = positionals;
    }

    public static ParsedArgs Parse(CommandSpec spec, IReadOnlyList<string> args)
    {
        var byName = spec.Options.ToDictionary(o => o.Name);
        var values = new Dictionary<string, List<string>>();
        var positionals = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a == "--") { positionals.AddRange(args.Skip(i + 1)); break; }
            if (LooksLikeSingleDashOption(a))
                throw new CliException($"unknown option {a} for '{spec.Name}': options take two dashes (did you mean -{a}?)");
            if (!a.StartsWith("--") || a.Length == 2) { positionals.Add(a); continue; }
            var name = a[2..];
            string? inline = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
            name = name.Replace('_', '-');
            if (!byName.TryGetValue(name, out var opt))
            {
                if (name.StartsWith("no-") && byName.TryGetValue(name[3..], out var negated) && negated.IsFlag && inline == null)
                {
                    values[negated.Name] = ["false"];
                    continue;
                }
                throw new CliException($"unknown option --{name} for '{spec.Name}' (see pipeline {spec.Name} --help)");
            }
            string value;
            if (opt.IsFlag) value = inline ?? "true";
            else if (inline != null) value = inline;
            else if (i + 1 < args.Count) value = args[++i];
            else throw new CliException($"option --{name} needs a value");
            if (!values.TryGetValue(opt.Name, out var list)) values[opt.Name] = list = new List<string>();
            if (!opt.Repeats) list.Clear();
            list.Add(value);
            if (opt.Several && inline == null)
                while (i + 1 < args.Count && !args[i + 1].StartsWith("--") && (args[i + 1].Contains('=') || args[i + 1].TrimStart().StartsWith('{')))
                    list.Add(args[++i]);
        }
        // A last positional written "NAME..." takes any number of values (transcribe FILE...).
        bool variadic = spec.Positionals.Length > 0 && spec.Positionals[^1].EndsWith("...", StringComparison.Ordinal);
        if (positionals.Count > spec.Positionals.Length && !variadic)
            throw new CliException($"unexpected argument '{positionals[spec.Positionals.Length]}' for '{spec.Name}'");
        return new ParsedArgs(spec, values, positionals);
    }

    /// <summary>`-prompt`, `-p`: a mistyped option, not a positional argument (`-` alone and negative numbers are not options).</summary>
    static bool LooksLikeSingleDashOption(string a) =>
        a.Length > 1 && a[0] == '-' && a[1] != '-' && !double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    public bool Has(string name) => _values.ContainsKey(name) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(EnvName(name))) || ConfigFileValue(name) != null;

    /// <summary>
    /// The option's value: the command line first, then the environment (PIPELINE_MAX_MODEL_LEN for
    /// --max-model-len), then the config file (--config FILE, JSON object of option names), then the default.
    /// </summary>
    public string? Get(string name)
    {
        if (_values.TryGetValue(name, out var v) && v.Count > 0) return v[^1];
        var env = Environment.GetEnvironmentVariable(EnvName(name));
        if (!string.IsNullOrEmpty(env)) return env;
        if (ConfigFileValue(name) is string fromFile) return fromFile;
        return _spec.Options.First(o => o.Name == name).Default;
    }

    public static string EnvName(string option) => "PIPELINE_" + option.ToUpperInvariant().Replace('-', '_');

    Dictionary<string, string>? _config;

    string? ConfigFileValue(string name)
    {
        if (name == "config") return null;
        if (_config == null)
        {
            _config = new Dictionary<string, string>();
            var path = _spec.Options.Any(o => o.Name == "config") ? Get("config") : null;
            if (path != null) _config = ConfigFile.Load(path);
        }
        return _config.TryGetValue(name, out var v) ? v : null;
    }

    public IReadOnlyList<string> GetAll(string name) => _values.TryGetValue(name, out var v) ? v : [];

    public bool Flag(string name) => Get(name) is string s && ParseBool(name, s);

    public int Int(string name) => GetInt(name) ?? throw new CliException($"--{name} is required");

    public int? GetInt(string name)
    {
        var s = Get(name);
        if (s == null) return null;
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new CliException($"--{name} must be an integer, got '{s}'");
    }

    public long? GetLong(string name)
    {
        var s = Get(name);
        if (s == null) return null;
        return long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new CliException($"--{name} must be an integer, got '{s}'");
    }

    public float? GetFloat(string name)
    {
        var s = Get(name);
        if (s == null) return null;
        return float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v) ? v : throw new CliException($"--{name} must be a number, got '{s}'");
    }

    public string Choice(string name, params string[] choices)
    {
        var s = Get(name) ?? throw new CliException($"--{name} is required");
        return choices.Contains(s) ? s : throw new CliException($"--{name} must be one of {string.Join(", ", choices)}, got '{s}'");
    }

    static bool ParseBool(string name, string s) => s.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new CliException($"--{name} must be true or false, got '{s}'"),
    };
}

/// <summary>A command-line usage error: printed as one line, exit code 2.</summary>
public sealed class CliException(string message) : Exception(message);
