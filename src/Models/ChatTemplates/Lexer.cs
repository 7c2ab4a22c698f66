using System.Globalization;
using System.Text;

namespace Pipeline.Models.ChatTemplates;

/// <summary>
/// Splits template source into data and tag tokens, applying jinja2's whitespace rules as configured by
/// transformers: trim_blocks, lstrip_blocks, '-' / '+' modifiers, and dropping one trailing newline.
/// </summary>
internal sealed class Lexer
{
    private static readonly string[] Operators =
        ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", ";"];

    private readonly string _src;
    private readonly List<int> _lineStarts = [0];
    private readonly List<Token> _tokens = [];
    private int _pos;

    private Lexer(string source)
    {
        var s = source.Replace("\r\n", "\n").Replace('\r', '\n');
        if (s.EndsWith('\n')) s = s[..^1];
        _src = s;
        for (int i = 0; i < s.Length; i++)
            if (s[i] == '\n') _lineStarts.Add(i + 1);
    }

    public static List<Token> Tokenize(string source)
    {
        var lx = new Lexer(source);
        lx.Run();
        return lx._tokens;
    }

    private (int Line, int Col) Where(int offset)
    {
        int idx = _lineStarts.BinarySearch(offset);
        if (idx < 0) idx = ~idx - 1;
        return (idx + 1, offset - _lineStarts[idx] + 1);
    }

    private TemplateException Error(string msg, int offset)
    {
        var (l, c) = Where(offset);
        return new TemplateException(msg, l, c);
    }

    private void Add(TokenKind kind, string text, int offset, object? value = null)
    {
        var (l, c) = Where(offset);
        _tokens.Add(new Token(kind, text, l, c, value));
    }

    private void Run()
    {
        bool lineStarting = true;
        while (_pos < _src.Length)
        {
            int open = FindOpen(_pos);
            if (open < 0)
            {
                Add(TokenKind.Data, _src[_pos..], _pos);
                break;
            }
            char kind = _src[open + 1];
            char mod = open + 2 < _src.Length ? _src[open + 2] : '\0';
            string text = _src[_pos..open];
            if (mod == '-')
                text = text.TrimEnd();
            else if (kind != '{' && mod != '+')
            {
                // lstrip_blocks: drop spaces/tabs between the line start and a block or comment tag.
                int lpos = text.LastIndexOf('\n') + 1;
                if ((lpos > 0 || lineStarting) && text.AsSpan(lpos).TrimStart(" \t").IsEmpty)
                    text = text[..lpos];
            }
            if (text.Length > 0) Add(TokenKind.Data, text, _pos);

            int bodyStart = open + 2 + (mod is '-' or '+' ? 1 : 0);
            if (kind == '#') _pos = LexComment(open, bodyStart);
            else if (kind == '%' && TryLexRaw(open, bodyStart)) { }
            else _pos = LexTag(kind == '{', open, bodyStart);
            lineStarting = _pos > 0 && _src[_pos - 1] == '\n';
        }
        Add(TokenKind.Eof, "", _src.Length);
    }

    private int FindOpen(int from)
    {
        for (int i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
        {
            char c = _src[i + 1];
            if (c is '{' or '%' or '#') return i;
        }
        return -1;
    }

    // Consumes what follows a closing delimiter: '-' strips all whitespace, '+' keeps it, otherwise a block
    // or comment drops a single newline (trim_blocks).
    private int AfterClose(int closeEnd, char modifier, bool isBlock)
    {
        int p = closeEnd;
        if (modifier == '-')
            while (p < _src.Length && char.IsWhiteSpace(_src[p])) p++;
        else if (modifier != '+' && isBlock && p < _src.Length && _src[p] == '\n')
            p++;
        return p;
    }

    private int LexComment(int open, int bodyStart)
    {
        int end = _src.IndexOf("#}", bodyStart, StringComparison.Ordinal);
        if (end < 0) throw Error("missing end of comment tag", open);
        char mod = end > bodyStart ? _src[end - 1] : '\0';
        return AfterClose(end + 2, mod, isBlock: true);
    }

    private bool TryLexRaw(int open, int bodyStart)
    {
        int p = SkipSpaces(bodyStart);
        if (!MatchWord(p, "raw")) return false;
        p = SkipSpaces(p + 3);
        char closeMod = '\0';
        if (p < _src.Length && _src[p] is '-' or '+') closeMod = _src[p++];
        if (!At(p, "%}")) return false;
        int contentStart = AfterClose(p + 2, closeMod, true);
        for (int i = _src.IndexOf("{%", contentStart, StringComparison.Ordinal); i >= 0; i = _src.IndexOf("{%", i + 2, StringComparison.Ordinal))
        {
            int q = i + 2;
            char openMod = q < _src.Length && _src[q] is '-' or '+' ? _src[q++] : '\0';
            q = SkipSpaces(q);
            if (!MatchWord(q, "endraw")) continue;
            q = SkipSpaces(q + 6);
            char endMod = '\0';
            if (q < _src.Length && _src[q] is '-' or '+') endMod = _src[q++];
            if (!At(q, "%}")) continue;
            string content = _src[contentStart..i];
            if (openMod == '-') content = content.TrimEnd();
            if (content.Length > 0) Add(TokenKind.Data, content, contentStart);
            _pos = AfterClose(q + 2, endMod, true);
            return true;
        }
        throw Error("missing endraw for raw block", open);
    }

    private int SkipSpaces(int p)
    {
        while (p < _src.Length && char.IsWhiteSpace(_src[p])) p++;
        return p;
    }

    private bool At(int p, string s) => string.CompareOrdinal(_src, p, s, 0, s.Length) == 0;

    private bool MatchWord(int p, string w) =>
        At(p, w) && (p + w.Length >= _src.Length || !IsNameChar(_src[p + w.Length]));

    private static bool IsNameStart(char c) => c == '_' || char.IsLetter(c);
    private static bool IsNameChar(char c) => c == '_' || char.IsLetterOrDigit(c);

    private int LexTag(bool isVar, int open, int bodyStart)
    {
        Add(isVar ? TokenKind.VarBegin : TokenKind.BlockBegin, isVar ? "{{" : "{%", open);
        string close = isVar ? "}}" : "%}";
        int depth = 0;
        int p = bodyStart;
        while (true)
        {
            while (p < _src.Length && char.IsWhiteSpace(_src[p])) p++;
            if (p >= _src.Length)
                throw Error(isVar ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'", open);
            if (depth == 0)
            {
                if (_src[p] is '-' or '+' && At(p + 1, close) && (_src[p] == '-' || !isVar))
                {
                    Add(isVar ? TokenKind.VarEnd : TokenKind.BlockEnd, close, p);
                    return AfterClose(p + 3, _src[p], !isVar);
                }
                if (At(p, close))
                {
                    Add(isVar ? TokenKind.VarEnd : TokenKind.BlockEnd, close, p);
                    return AfterClose(p + 2, '\0', !isVar);
                }
            }
            char c = _src[p];
            if (IsNameStart(c))
            {
                int s = p;
                while (p < _src.Length && IsNameChar(_src[p])) p++;
                Add(TokenKind.Name, _src[s..p], s);
            }
            else if (char.IsAsciiDigit(c)) p = LexNumber(p);
            else if (c is '\'' or '"') p = LexString(p);
            else
            {
                string? op = null;
                foreach (var o in Operators)
                    if (At(p, o)) { op = o; break; }
                if (op == null) throw Error($"unexpected char '{c}'", p);
                if (op is "(" or "[" or "{") depth++;
                else if (op is ")" or "]" or "}")
                {
                    if (depth == 0) throw Error($"unexpected '{op}'", p);
                    depth--;
                }
                Add(TokenKind.Op, op, p);
                p += op.Length;
            }
        }
    }

    private int LexNumber(int p)
    {
        int s = p;
        p = Digits(p);
        bool isFloat = false;
        if (p + 1 < _src.Length && _src[p] == '.' && char.IsAsciiDigit(_src[p + 1]))
        {
            isFloat = true;
            p = Digits(p + 1);
        }
        if (p < _src.Length && _src[p] is 'e' or 'E')
        {
            int q = p + 1;
            if (q < _src.Length && _src[q] is '+' or '-') q++;
            if (q < _src.Length && char.IsAsciiDigit(_src[q]))
            {
                isFloat = true;
                p = Digits(q);
            }
        }
        string text = _src[s..p].Replace("_", "");
        if (isFloat)
            Add(TokenKind.Float, text, s, double.Parse(text, CultureInfo.InvariantCulture));
        else if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long l))
            Add(TokenKind.Integer, text, s, l);
        else
            Add(TokenKind.Float, text, s, double.Parse(text, CultureInfo.InvariantCulture));
        return p;
    }

    private int Digits(int p)
    {
        while (p < _src.Length && (char.IsAsciiDigit(_src[p]) || (_src[p] == '_' && p + 1 < _src.Length && char.IsAsciiDigit(_src[p + 1])))) p++;
        return p;
    }

    private int LexString(int p)
    {
        char q = _src[p];
        int s = p++;
        var sb = new StringBuilder();
        while (true)
        {
            if (p >= _src.Length) throw Error("unterminated string", s);
            char c = _src[p++];
            if (c == q) break;
            if (c != '\\') { sb.Append(c); continue; }
            if (p >= _src.Length) throw Error("unterminated string", s);
            char e = _src[p++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case '0': sb.Append('\0'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case '\n': break;
                case 'x': p = Hex(sb, p, 2, s); break;
                case 'u': p = Hex(sb, p, 4, s); break;
                case 'U': p = Hex(sb, p, 8, s); break;
                default: sb.Append('\\').Append(e); break;
            }
        }
        Add(TokenKind.String, _src[s..p], s, sb.ToString());
        return p;
    }

    private int Hex(StringBuilder sb, int p, int n, int s)
    {
        if (p + n > _src.Length || !int.TryParse(_src.AsSpan(p, n), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int cp))
            throw Error("truncated \\x/\\u escape in string", s);
        sb.Append(char.ConvertFromUtf32(cp));
        return p + n;
    }
}
