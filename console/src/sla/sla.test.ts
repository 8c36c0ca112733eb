import { describe, expect, it } from 'vitest';
import { badgeFor, dueMatters, formatDay, hoursToMinutes, minutesText, minutesToHours, parseDay, parseHolidays, parseWeek, used } from './sla';

describe('SLA display', () => {
  it('badges known states only', () => {
    expect(badgeFor('breached')).toBe('breached');
    expect(badgeFor('warning')).toBe('warning');
    expect(badgeFor(null)).toBeNull();
    expect(badgeFor('exploded')).toBeNull();
  });

  it('shows a due time only while a clock counts or is paused', () => {
    expect(dueMatters('running')).toBe(true);
    expect(dueMatters('breached')).toBe(true);
    expect(dueMatters('met')).toBe(false);
    expect(dueMatters(null)).toBe(false);
  });

  it('measures the share of a target used', () => {
    expect(used(1800, 3600)).toBe(0.5);
    expect(used(7200, 3600)).toBe(2);
    expect(used(10, null)).toBeNull();
    expect(used(10, 0)).toBeNull();
  });

  it('reads targets in hours and shows minutes in their unit', () => {
    expect(hoursToMinutes('8')).toBe(480);
    expect(hoursToMinutes('1,5')).toBe(90);
    expect(hoursToMinutes('')).toBeNull();
    expect(hoursToMinutes('-1')).toBeUndefined();
    expect(hoursToMinutes('0')).toBeUndefined();
    expect(hoursToMinutes('abc')).toBeUndefined();
    expect(minutesToHours(90)).toBe('1.5');
    expect(minutesToHours(null)).toBe('');
    expect(minutesText(480)).toEqual({ value: 8, unit: 'h' });
    expect(minutesText(45)).toEqual({ value: 45, unit: 'min' });
  });
});

describe('business hours as typed', () => {
  it('parses several intervals a day, sorted', () => {
    expect(parseDay('13:00-17:00, 09:00-12:00')).toEqual([
      ['09:00', '12:00'],
      ['13:00', '17:00'],
    ]);
    expect(parseDay('')).toEqual([]);
    expect(parseDay('00:00-24:00')).toEqual([['00:00', '24:00']]);
  });

  it('refuses malformed, empty and overlapping intervals', () => {
    expect(parseDay('9-17')).toBeNull();
    expect(parseDay('17:00-09:00')).toBeNull();
    expect(parseDay('09:00-12:00, 11:00-13:00')).toBeNull();
    expect(parseDay('25:00-26:00')).toBeNull();
  });

  it('round-trips a week and names the bad day', () => {
    const texts = { mon: '09:00-17:00', tue: '09:00-17:00', wed: '', thu: '', fri: '', sat: '', sun: 'x' };
    expect(parseWeek(texts)).toEqual({ bad: 'sun' });
    const ok = parseWeek({ ...texts, sun: '' });
    expect('week' in ok && formatDay(ok.week.mon)).toBe('09:00-17:00');
  });

  it('reads holidays and refuses impossible dates', () => {
    expect(parseHolidays('2026-12-25\n2026-01-01, 2026-12-25')).toEqual({ dates: ['2026-01-01', '2026-12-25'] });
    expect(parseHolidays('2026-02-30')).toEqual({ bad: '2026-02-30' });
    expect(parseHolidays('')).toEqual({ dates: [] });
  });
});
