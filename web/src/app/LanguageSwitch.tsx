import { isLang, languages, setLanguage, t, useLanguage } from '../i18n';

export function LanguageSwitch({ userId }: { userId?: string }) {
  const lang = useLanguage();
  return (
    <label class="lang">
      <span class="lang-label">{t('lang.label')}</span>
      <select
        value={lang}
        data-testid="language"
        onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value;
          if (isLang(v)) setLanguage(v, userId);
        }}
      >
        {languages.map((l) => (
          <option key={l} value={l} lang={l}>
            {t(`lang.${l}`)}
          </option>
        ))}
      </select>
    </label>
  );
}
