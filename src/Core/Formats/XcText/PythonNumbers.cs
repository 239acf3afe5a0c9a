using System.Globalization;

namespace Skim.Core.Formats.XcText;

/// <summary>
/// Python's number spelling, which XC files follow because pyxclib reads them with <c>int()</c> and
/// <c>float()</c> and writes them with <c>'{}'.format(value)</c>. .NET's parsers and formatters
/// accept and produce other spellings ("Infinity", "1E-05", no ".0"), so the edges are handled here.
/// </summary>
public static class PythonNumbers
{
    /// <summary>Longest text <see cref="FormatFloat(double, Span{byte})"/> writes ("-1.2345678901234567e-308" is 24 bytes).</summary>
    public const int MaxFloatLength = 32;

    /// <summary>
    /// Parses <paramref name="text"/> as Python's <c>float()</c> does for ASCII input: optional sign,
    /// digits with single underscores between them, optional fraction and exponent, or
    /// <c>inf</c>/<c>infinity</c>/<c>nan</c> in any case. Surrounding whitespace is not accepted.
    /// </summary>
    public static bool TryParseFloat(ReadOnlySpan<byte> text, out double value)
    {
        // Label matrices are almost all "1.0"; skip the general path for them.
        if (text.SequenceEqual("1.0"u8))
        {
            value = 1;
            return true;
        }
        value = 0;
        var i = 0;
        var negative = false;
        if (i < text.Length && (text[i] == (byte)'+' || text[i] == (byte)'-'))
        {
            negative = text[i] == (byte)'-';
            i++;
        }
        var body = text[i..];
        if (body.Length > 0 && !IsDigit(body[0]) && body[0] != (byte)'.')
        {
            if (EqualsIgnoreCase(body, "inf"u8) || EqualsIgnoreCase(body, "infinity"u8))
            {
                value = negative ? double.NegativeInfinity : double.PositiveInfinity;
                return true;
            }
            if (EqualsIgnoreCase(body, "nan"u8))
            {
                value = double.NaN;
                return true;
            }
            return false;
        }
        var digits = 0;
        var underscores = false;
        var j = i;
        j = SkipDigitPart(text, j, ref digits, ref underscores, out var ok);
        if (!ok)
        {
            return false;
        }
        if (j < text.Length && text[j] == (byte)'.')
        {
            j++;
            if (j < text.Length && IsDigit(text[j]))
            {
                j = SkipDigitPart(text, j, ref digits, ref underscores, out ok);
                if (!ok)
                {
                    return false;
                }
            }
        }
        if (digits == 0)
        {
            return false;
        }
        if (j < text.Length && (text[j] == (byte)'e' || text[j] == (byte)'E'))
        {
            j++;
            if (j < text.Length && (text[j] == (byte)'+' || text[j] == (byte)'-'))
            {
                j++;
            }
            var exponentDigits = 0;
            j = SkipDigitPart(text, j, ref exponentDigits, ref underscores, out ok);
            if (!ok || exponentDigits == 0)
            {
                return false;
            }
        }
        if (j != text.Length)
        {
            return false;
        }
        if (!underscores)
        {
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
        // Underscores only ever sit between two digits (checked above), so dropping them is exact.
        Span<byte> compact = text.Length <= 256 ? stackalloc byte[text.Length] : new byte[text.Length];
        var n = 0;
        foreach (var b in text)
        {
            if (b != (byte)'_')
            {
                compact[n++] = b;
            }
        }
        return double.TryParse(compact[..n], NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>
    /// Parses <paramref name="text"/> as Python's <c>int()</c> does for ASCII decimal input (optional
    /// sign, digits with single underscores between them), failing when it does not fit in a long.
    /// </summary>
    public static bool TryParseInt(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        var i = 0;
        var negative = false;
        if (i < text.Length && (text[i] == (byte)'+' || text[i] == (byte)'-'))
        {
            negative = text[i] == (byte)'-';
            i++;
        }
        if (i == text.Length || !IsDigit(text[i]))
        {
            return false;
        }
        ulong magnitude = 0;
        for (; i < text.Length; i++)
        {
            var b = text[i];
            if (b == (byte)'_')
            {
                if (i + 1 >= text.Length || !IsDigit(text[i + 1]))
                {
                    return false;
                }
                continue;
            }
            if (!IsDigit(b))
            {
                return false;
            }
            var digit = (ulong)(b - '0');
            // Keeps magnitude * 10 + digit within 2^63 (long.MinValue's magnitude) without overflow.
            if (magnitude > ((ulong)long.MaxValue + 1 - digit) / 10)
            {
                return false;
            }
            magnitude = (magnitude * 10) + digit;
        }
        if (!negative && magnitude > long.MaxValue)
        {
            return false;
        }
        value = negative ? (long)(0 - magnitude) : (long)magnitude;
        return true;
    }

    /// <summary>
    /// Writes Python's <c>repr(float(value))</c> into <paramref name="destination"/> (at least
    /// <see cref="MaxFloatLength"/> bytes) and returns the number of bytes written: the shortest
    /// digits that round-trip, positional when the decimal exponent is in [-4, 16) and with a
    /// trailing <c>.0</c> for whole numbers, otherwise <c>d.ddde±XX</c>; <c>inf</c>, <c>-inf</c>, <c>nan</c>.
    /// </summary>
    public static int FormatFloat(double value, Span<byte> destination)
    {
        if (double.IsNaN(value))
        {
            return Copy("nan"u8, destination);
        }
        if (double.IsInfinity(value))
        {
            return Copy(value > 0 ? "inf"u8 : "-inf"u8, destination);
        }
        if (value == 0)
        {
            return Copy(double.IsNegative(value) ? "-0.0"u8 : "0.0"u8, destination);
        }
        if (value == 1)
        {
            return Copy("1.0"u8, destination);
        }

        // .NET's "R" yields the shortest round-trip digits but in its own layout ("1E-05",
        // "123456792"); take the digits and the decimal exponent from it and lay them out as Python.
        Span<byte> raw = stackalloc byte[MaxFloatLength];
        if (!value.TryFormat(raw, out var rawLength, "R", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"cannot format {value}");
        }
        return Layout(raw[..rawLength], destination);
    }

    /// <summary>
    /// Writes the shortest digits that round-trip <paramref name="value"/> as a float32, laid out as
    /// <see cref="FormatFloat(double, Span{byte})"/> does (0.1f gives <c>0.1</c>, not the widened
    /// double's <c>0.10000000149011612</c>), and returns the number of bytes written.
    /// </summary>
    public static int FormatFloat32(float value, Span<byte> destination)
    {
        if (!float.IsFinite(value) || value == 0)
        {
            return FormatFloat(value, destination);
        }
        Span<byte> raw = stackalloc byte[MaxFloatLength];
        if (!value.TryFormat(raw, out var rawLength, "R", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"cannot format {value}");
        }
        return Layout(raw[..rawLength], destination);
    }

    private static int Layout(ReadOnlySpan<byte> raw, Span<byte> destination)
    {
        var rawLength = raw.Length;
        Span<byte> digits = stackalloc byte[20];
        var digitCount = 0;
        var pointPosition = 0;
        var seenPoint = false;
        var exponent = 0;
        var negative = false;
        for (var i = 0; i < rawLength; i++)
        {
            var b = raw[i];
            if (b == (byte)'-')
            {
                negative = true;
            }
            else if (b == (byte)'.')
            {
                pointPosition = digitCount;
                seenPoint = true;
            }
            else if (b == (byte)'E')
            {
                _ = int.TryParse(raw[(i + 1)..rawLength], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent);
                break;
            }
            else if (digitCount > 0 || b != (byte)'0')
            {
                digits[digitCount++] = b;
            }
            else if (seenPoint)
            {
                // A leading zero after the point ("0.0001") shifts the decimal point left.
                pointPosition--;
            }
        }
        if (!seenPoint)
        {
            pointPosition = CountIntegerDigits(raw[..rawLength]);
        }
        while (digitCount > 1 && digits[digitCount - 1] == (byte)'0')
        {
            digitCount--;
        }
        // value = 0.d1d2...dn × 10^decimalPoint
        var decimalPoint = pointPosition + exponent;
        var n = 0;
        if (negative)
        {
            destination[n++] = (byte)'-';
        }
        if (decimalPoint > -4 && decimalPoint <= 16)
        {
            if (decimalPoint <= 0)
            {
                destination[n++] = (byte)'0';
                destination[n++] = (byte)'.';
                for (var z = 0; z < -decimalPoint; z++)
                {
                    destination[n++] = (byte)'0';
                }
                digits[..digitCount].CopyTo(destination[n..]);
                n += digitCount;
            }
            else if (decimalPoint < digitCount)
            {
                digits[..decimalPoint].CopyTo(destination[n..]);
                n += decimalPoint;
                destination[n++] = (byte)'.';
                digits[decimalPoint..digitCount].CopyTo(destination[n..]);
                n += digitCount - decimalPoint;
            }
            else
            {
                digits[..digitCount].CopyTo(destination[n..]);
                n += digitCount;
                for (var z = digitCount; z < decimalPoint; z++)
                {
                    destination[n++] = (byte)'0';
                }
                destination[n++] = (byte)'.';
                destination[n++] = (byte)'0';
            }
            return n;
        }
        destination[n++] = digits[0];
        if (digitCount > 1)
        {
            destination[n++] = (byte)'.';
            digits[1..digitCount].CopyTo(destination[n..]);
            n += digitCount - 1;
        }
        var e = decimalPoint - 1;
        destination[n++] = (byte)'e';
        destination[n++] = e < 0 ? (byte)'-' : (byte)'+';
        var magnitude = Math.Abs(e);
        if (magnitude < 10)
        {
            destination[n++] = (byte)'0';
        }
        magnitude.TryFormat(destination[n..], out var written, default, CultureInfo.InvariantCulture);
        return n + written;
    }

    /// <summary>Returns Python's <c>repr(float(value))</c> as a string.</summary>
    public static string FormatFloat(double value)
    {
        Span<byte> buffer = stackalloc byte[MaxFloatLength];
        var length = FormatFloat(value, buffer);
        return System.Text.Encoding.ASCII.GetString(buffer[..length]);
    }

    private static int CountIntegerDigits(ReadOnlySpan<byte> raw)
    {
        // No point in the .NET text: the digits before 'E' (or all of them) are the integer part.
        var count = 0;
        var started = false;
        foreach (var b in raw)
        {
            if (b == (byte)'E')
            {
                break;
            }
            if (IsDigit(b) && (started || b != (byte)'0'))
            {
                started = true;
                count++;
            }
        }
        return count;
    }

    private static int SkipDigitPart(ReadOnlySpan<byte> text, int j, ref int digits, ref bool underscores, out bool ok)
    {
        ok = true;
        while (j < text.Length)
        {
            var b = text[j];
            if (IsDigit(b))
            {
                digits++;
                j++;
            }
            else if (b == (byte)'_')
            {
                // Python allows one underscore between two digits only.
                if (digits == 0 || !IsDigit(text[j - 1]) || j + 1 >= text.Length || !IsDigit(text[j + 1]))
                {
                    ok = false;
                    return j;
                }
                underscores = true;
                j++;
            }
            else
            {
                break;
            }
        }
        return j;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static bool EqualsIgnoreCase(ReadOnlySpan<byte> text, ReadOnlySpan<byte> lowerCase)
    {
        if (text.Length != lowerCase.Length)
        {
            return false;
        }
        for (var i = 0; i < text.Length; i++)
        {
            if ((text[i] | 0x20) != lowerCase[i])
            {
                return false;
            }
        }
        return true;
    }

    private static int Copy(ReadOnlySpan<byte> text, Span<byte> destination)
    {
        text.CopyTo(destination);
        return text.Length;
    }
}
