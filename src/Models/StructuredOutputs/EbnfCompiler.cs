using System.Globalization;
using System.Text;
using static Pipeline.Models.StructuredOutputs.GrammarExpr;

namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// A context-free grammar written in the GBNF/EBNF form (`root ::= ...`, "strings", [classes]) or in a Lark subset
/// (`start: ...`, "strings", /regexes/, [optional], "a".."z", %import common.X for common terminals). Both have
/// alternation, grouping and * + ? and {m,n} (Lark: ~ m..n) repetition. The start rule is `root` (GBNF) or `start`
/// (Lark). Left recursion, %ignore and other directives are refused with the construct named.
/// </summary>
public sealed class EbnfCompiler
{
    static readonly Dictionary<string, string> CommonTerminals = new(StringComparer.Ordinal)
    {
        ["DIGIT"] = "[0-9]", ["HEXDIGIT"] = "[0-9a-fA-F]", ["INT"] = "[0-9]+", ["SIGNED_INT"] = "[+-]?[0-9]+",
        ["DECIMAL"] = @"[0-9]+\.[0-9]*|\.[0-9]+", ["NUMBER"] = @"[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?",
        ["SIGNED_NUMBER"] = @"[+-]?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?", ["FLOAT"] = @"[0-9]+\.[0-9]*([eE][+-]?[0-9]+)?",
        ["LETTER"] = "[A-Za-z]", ["LCASE_LETTER"] = "[a-z]", ["UCASE_LETTER"] = "[A-Z]", ["WORD"] = "[A-Za-z]+",
        ["CNAME"] = "[A-Za-z_][A-Za-z0-9_]*", ["WS"] = @"[ \t\f\r\n]+", ["WS_INLINE"] = @"[ \t]+", ["NEWLINE"] = @"(\r?\n)+",
        ["ESCAPED_STRING"] = "\"([^\"\\\\\\n]|\\\\[\"\\\\/bfnrt])*\"",
    };

    readonly string _src;
    readonly bool _lark;
    readonly GrammarBuilder _b = new();
    readonly Dictionary<string, int> _rules = new(StringComparer.Ordinal);
    int _pos;

    EbnfCompiler(string src)
    {
        _src = src;
        _lark = !src.Contains("::=");
    }

    public static Grammar Compile(string source)
    {
        var c = new EbnfCompiler(source);
        // A grammar cut short runs the parser off the end of the text: that is the user's grammar, not a crash.
        try { c.ParseAll(); }
        catch (IndexOutOfRangeException) { throw c.Error("grammar", "the grammar ends in the middle of a rule"); }
        catch (ArgumentOutOfRangeException) { throw c.Error("grammar", "the grammar ends in the middle of a rule"); }
        string start = c._lark ? "start" : "root";
        if (!c._rules.TryGetValue(start, out int root) || !c._b.IsDefined(root))
            throw new GrammarException("grammar", $"the grammar has no '{start}' rule ({(c._lark ? "Lark" : "GBNF")} syntax starts there)");
        foreach (var (name, id) in c._rules)
            if (!c._b.IsDefined(id)) throw new GrammarException("grammar", $"rule '{name}' is used but never defined");
        return c._b.Build(root);
    }

    GrammarException Error(string feature, string what)
    {
        int line = 1 + _src.Take(Math.Min(_pos, _src.Length)).Count(ch => ch == '\n');
        return new GrammarException(feature, $"grammar line {line}: {what}");
    }

    int Rule(string name)
    {
        if (!_rules.TryGetValue(name, out int id)) _rules[name] = id = _b.Declare(name);
        return id;
    }

    void ParseAll()
    {
        while (true)
        {
            SkipSpace(newlines: true);
            if (_pos >= _src.Length) return;
            if (_src[_pos] == '%') { Directive(); continue; }
            if (_src[_pos] is '?' or '!') _pos++; // Lark's inline / keep-tokens markers change the tree, not the language
            var name = Ident() ?? throw Error("grammar", $"expected a rule name, got '{Snippet()}'");
            if (_pos < _src.Length && _src[_pos] == '.') { _pos++; while (_pos < _src.Length && char.IsDigit(_src[_pos])) _pos++; } // Lark priority
            SkipSpace(newlines: false);
            if (_src.AsSpan(_pos).StartsWith("::=")) _pos += 3;
            else if (_pos < _src.Length && _src[_pos] == ':') _pos++;
            else throw Error("grammar", $"expected ::= or : after '{name}'");
            int id = Rule(name);
            if (_b.IsDefined(id)) throw Error("grammar", $"rule '{name}' is defined twice");
            _b.Define(id, Alternation());
        }
    }

    void Directive()
    {
        int lineEnd = _src.IndexOf('\n', _pos);
        var line = (lineEnd < 0 ? _src[_pos..] : _src[_pos..lineEnd]).Trim();
        _pos = lineEnd < 0 ? _src.Length : lineEnd;
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts[0] == "%import" && parts.Length >= 2 && parts[1].StartsWith("common.", StringComparison.Ordinal))
        {
            var name = parts[1]["common.".Length..];
            var alias = parts.Length >= 4 && parts[2] == "->" ? parts[3] : name;
            if (!CommonTerminals.TryGetValue(name, out var regex)) throw Error("%import", $"common.{name} is not one of the supported common terminals ({string.Join(", ", CommonTerminals.Keys)})");
            int id = Rule(alias);
            if (!_b.IsDefined(id)) _b.Define(id, RegexCompiler.Compile(regex));
            return;
        }
        throw Error(parts[0], $"the directive {parts[0]} is not supported");
    }

    GrammarExpr Alternation()
    {
        var alts = new List<GrammarExpr> { Sequence() };
        while (true)
        {
            SkipSpace(newlines: true);
            if (_pos < _src.Length && _src[_pos] == '|') { _pos++; alts.Add(Sequence()); }
            else return Either(alts);
        }
    }

    GrammarExpr Sequence()
    {
        var items = new List<GrammarExpr>();
        while (true)
        {
            // In GBNF a rule body may continue on the next line; a new definition (name ::= / name:) ends it.
            SkipSpace(newlines: true);
            if (_pos >= _src.Length || _src[_pos] is '|' or ')' or ']' or '%') break;
            if (AtDefinition()) break;
            items.Add(Postfix(Atom()));
        }
        return items.Count == 1 ? items[0] : new Seq(items);
    }

    bool AtDefinition()
    {
        int save = _pos;
        if (_pos < _src.Length && _src[_pos] is '?' or '!') _pos++;
        var name = Ident();
        if (name != null && _pos < _src.Length && _src[_pos] == '.') { _pos++; while (_pos < _src.Length && char.IsDigit(_src[_pos])) _pos++; }
        SkipSpace(newlines: false);
        bool def = name != null && (_src.AsSpan(_pos).StartsWith("::=") || (_pos < _src.Length && _src[_pos] == ':'));
        _pos = save;
        return def;
    }

    GrammarExpr Postfix(GrammarExpr atom)
    {
        while (_pos < _src.Length)
        {
            char c = _src[_pos];
            if (c == '*') { _pos++; atom = Star(atom); }
            else if (c == '+') { _pos++; atom = Plus(atom); }
            else if (c == '?') { _pos++; atom = Optional(atom); }
            else if (c == '{' && !_lark)
            {
                _pos++;
                int min = Int(), max = min;
                if (_src[_pos] == ',') { _pos++; SkipSpace(false); max = _src[_pos] == '}' ? -1 : Int(); }
                Expect('}');
                atom = new Repeat(atom, min, max);
            }
            else if (c == '~' && _lark)
            {
                _pos++;
                SkipSpace(false);
                int min = Int(), max = min;
                if (_src.AsSpan(_pos).StartsWith("..")) { _pos += 2; max = Int(); }
                atom = new Repeat(atom, min, max);
            }
            else break;
        }
        return atom;
    }

    int Int()
    {
        SkipSpace(false);
        int start = _pos;
        while (_pos < _src.Length && char.IsDigit(_src[_pos])) _pos++;
        if (start == _pos) throw Error("grammar", "expected a number");
        int v = int.Parse(_src.AsSpan(start, _pos - start), CultureInfo.InvariantCulture);
        if (v > 10_000) throw Error("grammar", "repetition counts above 10000 are not supported");
        SkipSpace(false);
        return v;
    }

    void Expect(char c)
    {
        SkipSpace(false);
        if (_pos >= _src.Length || _src[_pos] != c) throw Error("grammar", $"expected '{c}'");
        _pos++;
    }

    GrammarExpr Atom()
    {
        char c = _src[_pos];
        if (c == '"' || (c == '\'' && _lark))
        {
            var s = QuotedString();
            if (_lark && _src.AsSpan(_pos).StartsWith(".."))
            {
                _pos += 2;
                SkipSpace(false);
                var hi = QuotedString();
                var a = s.EnumerateRunes().ToList();
                var b = hi.EnumerateRunes().ToList();
                if (a.Count != 1 || b.Count != 1) throw Error("grammar", "a range \"a\"..\"z\" needs single characters");
                return CodePointSet.Of((a[0].Value, b[0].Value)).ToUtf8();
            }
            return s.Length == 0 ? Empty : Lit(s);
        }
        if (c == '(')
        {
            _pos++;
            var e = Alternation();
            Expect(')');
            return e;
        }
        if (c == '[')
        {
            if (_lark)
            {
                _pos++;
                var e = Alternation();
                Expect(']');
                return Optional(e);
            }
            int end = ClassEnd(_pos);
            var cls = _src[_pos..(end + 1)];
            _pos = end + 1;
            return RegexCompiler.Compile(cls);
        }
        if (c == '/' && _lark)
        {
            int end = _pos + 1;
            while (end < _src.Length && _src[end] != '/') { if (_src[end] == '\\') end++; end++; }
            if (end >= _src.Length) throw Error("grammar", "unterminated /regex/");
            var regex = _src[(_pos + 1)..end];
            _pos = end + 1;
            if (_pos < _src.Length && char.IsLetter(_src[_pos])) throw Error("regex flags", $"regex flags (/.../{_src[_pos]}) are not supported");
            try { return RegexCompiler.Compile(regex); }
            catch (GrammarException e) { throw Error(e.Feature, e.Message); }
        }
        var name = Ident() ?? throw Error("grammar", $"unexpected '{Snippet()}'");
        return new Ref(Rule(name));
    }

    int ClassEnd(int start)
    {
        int i = start + 1;
        if (i < _src.Length && _src[i] == '^') i++;
        if (i < _src.Length && _src[i] == ']') i++;
        for (; i < _src.Length; i++)
        {
            if (_src[i] == '\\') { i++; continue; }
            if (_src[i] == ']') return i;
        }
        throw Error("grammar", "unterminated [class]");
    }

    string QuotedString()
    {
        char quote = _src[_pos++];
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _src.Length) throw Error("grammar", "unterminated string");
            char c = _src[_pos++];
            if (c == quote) break;
            if (c != '\\') { sb.Append(c); continue; }
            char e = _src[_pos++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'x': sb.Append((char)int.Parse(_src.AsSpan(_pos, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)); _pos += 2; break;
                case 'u': sb.Append((char)int.Parse(_src.AsSpan(_pos, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture)); _pos += 4; break;
                default: sb.Append(e); break;
            }
        }
        if (_lark && _pos < _src.Length && _src[_pos] == 'i') throw Error("string flags", "case-insensitive strings (\"...\"i) are not supported");
        return sb.ToString();
    }

    string? Ident()
    {
        int start = _pos;
        while (_pos < _src.Length && (char.IsLetterOrDigit(_src[_pos]) || _src[_pos] is '_' or '-')) _pos++;
        if (_pos == start || char.IsDigit(_src[start])) { _pos = start; return null; }
        return _src[start.._pos];
    }

    void SkipSpace(bool newlines)
    {
        while (_pos < _src.Length)
        {
            char c = _src[_pos];
            if (c == '#' || (c == '/' && _pos + 1 < _src.Length && _src[_pos + 1] == '/'))
            {
                if (!newlines) return;
                while (_pos < _src.Length && _src[_pos] != '\n') _pos++;
            }
            else if (c is ' ' or '\t' or '\r' || (newlines && c == '\n')) _pos++;
            else return;
        }
    }

    string Snippet() => _src.Substring(_pos, Math.Min(20, _src.Length - _pos));
}
